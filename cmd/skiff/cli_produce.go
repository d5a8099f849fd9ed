package main

// `skiff produce TOPIC`: one record per input line, produced asynchronously
// (kgo.Produce with a callback, one Flush at the end) so a large file goes at
// the speed of batching rather than one round trip per line.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultMaxMessageBytes is Kafka's default max.message.bytes, used when the
// broker does not report the topic's own.
const defaultMaxMessageBytes = 1048588

var acksByName = map[string]kgo.Acks{"all": kgo.AllISRAcks(), "-1": kgo.AllISRAcks(), "1": kgo.LeaderAck(), "0": kgo.NoAck()}

var codecsByName = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
	"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

type produceOptions struct {
	topic, file, keySeparator string
	acks                      kgo.Acks
	compression               kgo.CompressionCodec
	progress                  bool // --progress: progress and a summary even when stderr is not a terminal
}

func runProduce(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("produce", "TOPIC [flags] < records", stderr)
	var o produceOptions
	fs.StringVar(&o.file, "file", "", "read records from `FILE` instead of stdin")
	fs.StringVar(&o.keySeparator, "key-separator", "", "split each line at the first `SEP` into key and value (lines without SEP get no key)")
	acks := fs.String("acks", "all", "acknowledgement to wait for: all, 1 or 0")
	compression := fs.String("compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.BoolVar(&o.progress, "progress", false, "report progress every second and a summary at the end (default: progress only when reading --file with stderr on a terminal)")
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	o.topic = pos[0]
	if o.acks, ok = acksByName[*acks]; !ok {
		return usageError(fs, stderr, "--acks %q: want all, 1 or 0", *acks)
	}
	if o.compression, ok = codecsByName[*compression]; !ok {
		return usageError(fs, stderr, "--compression %q: want none, gzip, snappy, lz4 or zstd", *compression)
	}

	in := stdin
	if o.file != "" && o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			fmt.Fprintf(stderr, "skiff produce: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	showProgress := o.progress || (o.file != "" && o.file != "-" && isTerminal(stderr))
	return produce(context.Background(), *brokers, o, in, stderr, showProgress)
}

func produce(ctx context.Context, brokers string, o produceOptions, in io.Reader, stderr io.Writer, showProgress bool) int {
	maxBytes, err := topicMaxMessageBytes(ctx, brokers, o.topic)
	if err != nil {
		return fail(stderr, "produce", err, o.topic, "")
	}
	opts := append(seedOpts(brokers),
		kgo.DefaultProduceTopic(o.topic),
		kgo.RequiredAcks(o.acks),
		kgo.ProducerBatchCompression(o.compression),
		kgo.ProducerBatchMaxBytes(maxBytes),
	)
	if o.acks != kgo.AllISRAcks() {
		opts = append(opts, kgo.DisableIdempotentWrite()) // idempotence requires acks=all
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fail(stderr, "produce", err, o.topic, "")
	}
	defer cl.Close()

	var st produceStats
	st.start = time.Now()
	var prog *progress
	if showProgress {
		prog = startProgress(stderr, &st)
	}
	lines, readErr := produceLines(ctx, cl, bufio.NewReaderSize(in, 1<<20), o.keySeparator, int(maxBytes), &st)
	flushErr := cl.Flush(ctx)
	prog.stop()

	failed, firstLine, firstErr := st.firstFailure()
	switch {
	case failed > 0:
		fmt.Fprintf(stderr, "skiff produce: line %d: %s\n", firstLine, explain(firstErr, o.topic, ""))
		fmt.Fprintf(stderr, "skiff produce: %d of %d records failed (%d produced)\n", failed, lines, st.records.Load())
		return 1
	case readErr != nil:
		fmt.Fprintf(stderr, "skiff produce: %v (%d records produced)\n", readErr, st.records.Load())
		return 1
	case flushErr != nil:
		return fail(stderr, "produce", flushErr, o.topic, "")
	}
	if o.progress {
		fmt.Fprintf(stderr, "produced to %s: %s\n", o.topic, st.summary(time.Now()))
	}
	return 0
}

// topicMaxMessageBytes checks that topic exists (producing to a missing
// topic would otherwise retry for a while) and returns the largest record
// batch it accepts, which bounds the longest line.
func topicMaxMessageBytes(ctx context.Context, brokers, topic string) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, brokers)
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := topics[topic].Err; err != nil {
		return 0, err
	}
	maxBytes := int64(defaultMaxMessageBytes)
	if rcs, err := adm.DescribeTopicConfigs(ctx, topic); err == nil {
		if rc, err := rcs.On(topic, nil); err == nil && rc.Err == nil {
			for _, c := range rc.Configs {
				if c.Key == "max.message.bytes" {
					if n, err := strconv.ParseInt(c.MaybeValue(), 10, 32); err == nil {
						maxBytes = n
					}
				}
			}
		}
	}
	return int32(min(max(maxBytes, 512), 1<<30)), nil // kgo's accepted range
}

// produceLines produces one record per line of r until EOF, a read error, or
// the first failed record. It returns the number of lines read.
func produceLines(ctx context.Context, cl *kgo.Client, r *bufio.Reader, keySep string, maxBytes int, st *produceStats) (int, error) {
	sep := []byte(keySep)
	lineNo := 0
	for !st.failing.Load() {
		line, err := readLine(r, maxBytes)
		if errors.Is(err, errLineTooLong) {
			st.fail(lineNo+1, fmt.Errorf("line is longer than the topic's max.message.bytes (%d): %w", maxBytes, kerr.MessageTooLarge))
			return lineNo + 1, nil
		}
		if len(line) > 0 || (err == nil) {
			lineNo++
			rec := &kgo.Record{Value: line}
			if len(sep) > 0 {
				if k, v, ok := bytes.Cut(line, sep); ok {
					rec.Key, rec.Value = k, v
				}
			}
			n := lineNo
			cl.Produce(ctx, rec, func(rec *kgo.Record, err error) {
				if err != nil {
					st.fail(n, err)
					return
				}
				st.records.Add(1)
				st.bytes.Add(int64(len(rec.Key) + len(rec.Value)))
			})
		}
		if err == io.EOF {
			return lineNo, nil
		}
		if err != nil {
			return lineNo, fmt.Errorf("read line %d: %w", lineNo+1, err)
		}
	}
	return lineNo, nil
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its "\n" or "\r\n", copied so the
// caller may keep it. At the end of the input it returns io.EOF, together
// with a last line that had no newline. Lines longer than limit bytes fail
// with errLineTooLong without being read into memory whole.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > limit+2 { // +2 for the "\r\n" trimmed below
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
			if n > 1 && line[n-2] == '\r' {
				line = line[:n-2]
			}
		}
		if len(line) > limit {
			return nil, errLineTooLong
		}
		return line, err
	}
}

// produceStats is shared by the reading loop, the produce callbacks and the
// progress reporter.
type produceStats struct {
	start   time.Time
	records atomic.Int64 // acknowledged records
	bytes   atomic.Int64 // acknowledged key and value bytes
	failing atomic.Bool  // a record failed: stop reading

	mu        sync.Mutex
	failed    int
	firstLine int
	firstErr  error
}

func (s *produceStats) fail(line int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed++
	if s.firstErr == nil || line < s.firstLine {
		s.firstLine, s.firstErr = line, err
	}
	s.failing.Store(true)
}

func (s *produceStats) firstFailure() (failed, line int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed, s.firstLine, s.firstErr
}

func (s *produceStats) summary(now time.Time) string {
	secs := max(now.Sub(s.start).Seconds(), 1e-3)
	n, mb := s.records.Load(), float64(s.bytes.Load())/1e6
	return fmt.Sprintf("%d records (%.1f MB) in %.1fs: %.0f records/s, %.1f MB/s", n, mb, secs, float64(n)/secs, mb/secs)
}

// progress prints produceStats to w every second: on one rewritten line when
// w is a terminal, one line per report otherwise.
type progress struct {
	done    chan struct{}
	wg      sync.WaitGroup
	w       io.Writer
	rewrite bool
}

func startProgress(w io.Writer, st *produceStats) *progress {
	p := &progress{done: make(chan struct{}), w: w, rewrite: isTerminal(w)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case now := <-tick.C:
				if p.rewrite {
					fmt.Fprintf(w, "\r%s\x1b[K", st.summary(now))
				} else {
					fmt.Fprintln(w, st.summary(now))
				}
			}
		}
	}()
	return p
}

// stop ends the reports and, on a terminal, clears the progress line. It
// is a no-op on a nil progress.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
	if p.rewrite {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
