package main

// `skiff consume TOPIC`: read records from a topic without a consumer group.
// Like Fluvio, it starts at the end and follows new records; -B, --offset and
// -p choose where to start, -d stops at the end instead of following.
// With --group it reads as a member of a consumer group (cli_group.go).
// With --smartmodule or --transforms-file it reads through a temporary
// read-time view of the topic (cli_smartmodule_consume.go), so the chain
// runs on the broker, as Fluvio's consume flags of the same names do.
//
// # Notes
//
//   - -d reads up to the high watermarks listed when the command starts, so
//     records produced meanwhile are not printed and an empty topic ends at
//     once. The last offsets below a high watermark may be transaction
//     markers, which a consumer never sees as records; the client is told to
//     keep control records so that reaching a marker still ends the
//     partition.
//   - Partitions added to the topic while following are not read.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type consumeOptions struct {
	topic         string
	fromBeginning bool  // -B
	partition     int   // -p, or -1 for every partition
	offset        int64 // --offset, when offsetSet
	offsetSet     bool
	toEnd         bool // -d
	format        []formatPart
	max           int    // --max, or 0 for no limit
	group         string // --group, or "" to read without a group
	// displayTopic, when set, is printed as {{topic}} instead of topic:
	// the source of the temporary view that --smartmodule reads.
	displayTopic string
}

func runConsume(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("consume", "TOPIC [flags]", stderr)
	var o consumeOptions
	fs.BoolVar(&o.fromBeginning, "B", false, "start at the beginning of each partition (default: the end, new records only)")
	fs.IntVar(&o.partition, "p", -1, "read only partition `N` (-1: all partitions)")
	fs.Int64Var(&o.offset, "offset", 0, "start at absolute offset `N` in each partition; -N starts N records before the end")
	fs.BoolVar(&o.toEnd, "d", false, "stop at the end: read up to the end offsets at start, then exit")
	format := fs.String("format", "{{value}}", "how to print each record, followed by a newline; placeholders: "+
		strings.Join(formatFieldList(), " ")+`; escapes \n \t \\`)
	fs.IntVar(&o.max, "max", 0, "exit after `N` records (0: no limit)")
	fs.StringVar(&o.group, "group", "", "read as a member of consumer group `G`, from its committed offsets (where none, where -B/--offset say), committing what was printed")
	var sm consumeSmartModule
	sm.params = keyValueFlags{}
	fs.StringVar(&sm.module, "smartmodule", "", "run SmartModule `NAME` (stored or built-in) on the records on the broker, through a temporary view")
	fs.Var(sm.params, "params", "a parameter of --smartmodule, `key=value` (repeatable)")
	fs.StringVar(&sm.file, "transforms-file", "", "run the chain of a transforms.yml `FILE` on the records on the broker, through a temporary view")
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	o.topic = pos[0]
	fs.Visit(func(f *flag.Flag) { o.offsetSet = o.offsetSet || f.Name == "offset" })
	switch {
	case o.fromBeginning && o.offsetSet:
		return usageError(fs, stderr, "-B and --offset both say where to start: pass one")
	case o.partition < -1:
		return usageError(fs, stderr, "-p %d: partitions count from 0", o.partition)
	case o.max < 0:
		return usageError(fs, stderr, "--max %d: want 0 (no limit) or more", o.max)
	case o.group != "" && o.partition >= 0:
		return usageError(fs, stderr, "-p and --group: the group assigns the partitions; drop -p")
	case sm.module != "" && sm.file != "":
		return usageError(fs, stderr, "--smartmodule and --transforms-file both name what to run: pass one")
	case len(sm.params) > 0 && sm.module == "":
		return usageError(fs, stderr, "--params are parameters of --smartmodule NAME (a transforms.yml has them under `with:`)")
	case o.group != "" && (sm.module != "" || sm.file != ""):
		return usageError(fs, stderr, "--group with a SmartModule: the temporary view goes away on exit, and the group's offsets with it; create a view (skiff topic create V --view-of %s --transforms-file F) and consume it with --group", o.topic)
	}
	var err error
	if o.format, err = parseFormat(*format); err != nil {
		return usageError(fs, stderr, "--format: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.group != "" {
		return consumeGroup(ctx, *brokers, o, stdout, stderr)
	}
	if sm.module != "" || sm.file != "" {
		return consumeThroughView(ctx, *brokers, o, sm, stdout, stderr)
	}
	return consume(ctx, *brokers, o, stdout, stderr)
}

// consume prints records until ctx is done, --max is reached, or with -d
// every partition reached its end. Cancelling ctx is a clean exit.
func consume(ctx context.Context, brokers string, o consumeOptions, stdout, stderr io.Writer) int {
	plan, err := planConsume(ctx, brokers, o)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return fail(stderr, "consume", err, o.topic, "")
	}
	if o.toEnd && len(plan.ends) == 0 {
		return 0 // nothing between the start and the end
	}
	if o.toEnd && plan.view {
		return consumeFetchToEnd(ctx, brokers, o, plan, stdout, stderr)
	}
	opts := append(seedOpts(brokers), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: plan.starts}))
	if o.toEnd {
		opts = append(opts, kgo.KeepControlRecords())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fail(stderr, "consume", err, o.topic, "")
	}
	defer cl.Close()

	out := bufio.NewWriterSize(stdout, 64<<10)
	printed := 0
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			out.Flush()
			return 0
		}
		for _, fe := range fetches.Errors() {
			var dataLoss *kgo.ErrDataLoss
			switch {
			case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, kgo.ErrClientClosed):
				out.Flush()
				return 0
			case errors.As(fe.Err, &dataLoss):
				fmt.Fprintf(stderr, "skiff consume: warning: %v\n", fe.Err)
			default:
				out.Flush()
				return fail(stderr, "consume", fmt.Errorf("partition %d: %w", fe.Partition, viewFailure(plan.view, fe.Err)), o.topic, "")
			}
		}
		done := false
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if done || !plan.take(o, r) {
					return
				}
				if !r.Attrs.IsControl() {
					if o.displayTopic != "" {
						r.Topic = o.displayTopic
					}
					writeRecord(out, o.format, r)
					printed++
					done = o.max > 0 && printed >= o.max
				}
			}
		})
		if err := out.Flush(); err != nil {
			return fail(stderr, "consume", fmt.Errorf("write output: %w", err), o.topic, "")
		}
		if done || (o.toEnd && len(plan.ends) == 0) {
			return 0
		}
	}
}

// consumePlan is where each partition starts and, with -d, where it ends.
type consumePlan struct {
	starts map[int32]kgo.Offset
	ends   map[int32]int64 // -d: partitions not yet at their end → end offset
	from   map[int32]int64 // -d: the start offset of each partition in ends
	// view: the topic is a read-time view. Its filters may drop the
	// records before an end offset, so with -d it is read with Fetch
	// requests of our own, which tell where each partition got to.
	view bool
}

// take reports whether r is to be handled (printed unless it is a control
// record); with -d it also retires partitions that reached their end.
func (pl *consumePlan) take(o consumeOptions, r *kgo.Record) bool {
	if !o.toEnd {
		return true
	}
	end, open := pl.ends[r.Partition]
	if !open || r.Offset >= end {
		delete(pl.ends, r.Partition)
		return false
	}
	if r.Offset >= end-1 {
		delete(pl.ends, r.Partition)
	}
	return true
}

// planConsume lists the topic's offsets and decides where to start.
func planConsume(ctx context.Context, brokers string, o consumeOptions) (consumePlan, error) {
	adm, err := connectAdmin(ctx, brokers)
	if err != nil {
		return consumePlan{}, err
	}
	defer adm.Close()
	ends, err := adm.ListEndOffsets(ctx, o.topic)
	if err != nil {
		return consumePlan{}, err
	}
	if err := ends.Error(); err != nil {
		return consumePlan{}, err
	}
	endOf := ends[o.topic]
	if len(endOf) == 0 {
		return consumePlan{}, kerr.UnknownTopicOrPartition
	}
	if _, ok := endOf[int32(o.partition)]; o.partition >= 0 && !ok {
		return consumePlan{}, fmt.Errorf("topic %s has no partition %d: pick one of 0 to %d with -p", o.topic, o.partition, len(endOf)-1)
	}
	var starts kadm.ListedOffsets
	if o.offsetSet || (o.fromBeginning && o.toEnd) {
		if starts, err = adm.ListStartOffsets(ctx, o.topic); err == nil {
			err = starts.Error()
		}
		if err != nil {
			return consumePlan{}, err
		}
	}

	plan := consumePlan{starts: make(map[int32]kgo.Offset), ends: make(map[int32]int64), from: make(map[int32]int64),
		view: isView(ctx, adm, o.topic)}
	for p, e := range endOf {
		if o.partition >= 0 && p != int32(o.partition) {
			continue
		}
		pos := e.Offset // the default: new records only
		switch {
		case o.offsetSet:
			start, _ := starts.Lookup(o.topic, p)
			pos = o.offset
			if pos < 0 {
				pos += e.Offset
			}
			pos = min(max(pos, start.Offset), e.Offset)
			plan.starts[p] = kgo.NewOffset().At(pos)
		case o.fromBeginning:
			if start, ok := starts.Lookup(o.topic, p); ok {
				pos = start.Offset
			}
			plan.starts[p] = kgo.NewOffset().AtStart()
		default:
			plan.starts[p] = kgo.NewOffset().At(pos)
		}
		if o.toEnd && pos < e.Offset {
			plan.ends[p], plan.from[p] = e.Offset, pos
		}
	}
	return plan, nil
}

// formatPart is a literal or, when field is set, a record field.
type formatPart struct {
	lit   string
	field string
}

var formatFields = map[string]bool{
	"key": true, "value": true, "offset": true, "partition": true,
	"timestamp": true, "topic": true, "headers": true,
}

func formatFieldList() []string {
	var l []string
	for f := range formatFields {
		l = append(l, "{{"+f+"}}")
	}
	sort.Strings(l)
	return l
}

// parseFormat splits a --format template into literals and {{field}}
// placeholders, and interprets the escapes \n, \t, \r and \\ in literals.
func parseFormat(s string) ([]formatPart, error) {
	var parts []formatPart
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			parts = append(parts, formatPart{lit: unescape(s)})
			break
		}
		if i > 0 {
			parts = append(parts, formatPart{lit: unescape(s[:i])})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed %q", s[i:])
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		if !formatFields[name] {
			return nil, fmt.Errorf("unknown placeholder {{%s}}: use %s", name, strings.Join(formatFieldList(), " "))
		}
		parts = append(parts, formatPart{field: name})
		s = s[i+j+2:]
	}
	return parts, nil
}

var unescaper = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`)

func unescape(s string) string { return unescaper.Replace(s) }

// writeRecord prints r as format says, then a newline. Errors stick in w
// and surface at its Flush.
func writeRecord(w *bufio.Writer, format []formatPart, r *kgo.Record) {
	var num [20]byte
	for _, f := range format {
		switch f.field {
		case "":
			w.WriteString(f.lit)
		case "key":
			w.Write(r.Key)
		case "value":
			w.Write(r.Value)
		case "offset":
			w.Write(strconv.AppendInt(num[:0], r.Offset, 10))
		case "partition":
			w.Write(strconv.AppendInt(num[:0], int64(r.Partition), 10))
		case "timestamp":
			w.Write(strconv.AppendInt(num[:0], r.Timestamp.UnixMilli(), 10))
		case "topic":
			w.WriteString(r.Topic)
		case "headers":
			for i, h := range r.Headers {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(h.Key)
				w.WriteByte('=')
				w.Write(h.Value)
			}
		}
	}
	w.WriteByte('\n')
}
