package compat_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestReferenceEmptyBatches: Apache Kafka's log compaction leaves record batches without
// records too, the kind a SmartModule view returns for a batch it filtered out whole. The
// cleaner keeps the last batch of each idempotent producer, emptied, so that the producer's
// sequence survives (LogCleaner: BatchRetention.RETAIN_EMPTY). This test makes two such
// logs on the reference Kafka (the broker differential tests share) and has every view
// client consume them, so that a client that fails on a view is known to fail on Kafka:
//
//   - empty-between: a segment [batch @0][empty @1][empty @2][batch @3][batch @4], then
//     the active segment [batch @5]. A Fetch at 0 returns the batches of the first segment,
//     two empty ones between the others, as a view returns filtered batches between matches.
//   - empty-segment: segment.bytes 1 MiB and 600 KB records, so the cleaner leaves a
//     segment that holds only the empty batch @0; Kafka's Fetch reads one segment, so a
//     Fetch at 0 returns that batch alone, a response without records, like a view's
//     filtered tail.
//
// A client with a knownBug must fail as it says, the others must read both topics.
func TestReferenceEmptyBatches(t *testing.T) {
	k := diffKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := newKgoClient(t, k.Addr(), kgo.MetadataMinAge(10*time.Millisecond))
	adm := kadm.NewClient(cl)
	suffix := fmt.Sprint(time.Now().UnixNano())
	shapes := []emptyShape{{
		name: "empty-between", topic: "empty-between-" + suffix, size: 10,
		configs: map[string]*string{"segment.ms": kadm.StringPtr("100")},
		// producer 3 writes k3, 1 writes k1, 4 writes k4, 2 writes k1 and k4 again, then
		// (rolling) k2: the batches of 1 and 4 are emptied, and kept.
		writes: []emptyWrite{{3, "k3", true}, {1, "k1", false}, {4, "k4", false}, {2, "k1", true}, {2, "k4", true}, {2, "k2", true}},
		shape:  []int32{1, 0, 0, 1, 1},
	}, {
		name: "empty-segment", topic: "empty-segment-" + suffix, size: 600_000,
		configs: map[string]*string{"segment.bytes": kadm.StringPtr("1048576")},
		writes:  []emptyWrite{{1, "k1", false}, {2, "k1", true}, {2, "k2", true}},
		shape:   []int32{0},
	}}
	for i := range shapes {
		shapes[i].make(ctx, t, k.Addr(), adm)
	}
	for _, sh := range shapes {
		sh.waitCleaned(ctx, t, cl)
	}
	for _, mk := range viewClientMakers {
		t.Run(mk.name, func(t *testing.T) {
			c := mk.make(t)
			for _, sh := range shapes {
				err := readCompacted(t, c, k.Addr(), sh)
				bug := c.bug.on(sh.name)
				switch {
				case err == nil && bug == "":
					t.Logf("%s read %s on Kafka", c.name, sh.name)
				case err == nil:
					t.Errorf("%s read %s on Kafka, but its known bug says it cannot (%s): remove or correct the bug", c.name, sh.name, bug)
				case bug == "":
					t.Errorf("%s cannot read %s on Kafka: %v", c.name, sh.name, err)
				case !c.bug.matches(err):
					t.Errorf("%s fails on %s on Kafka, but not as its known bug says (%s): %v", c.name, sh.name, bug, err)
				default:
					t.Logf("%s fails on %s on Kafka too, its known bug (%s): %v", c.name, sh.name, bug, firstLine(err.Error()))
				}
			}
		})
	}
}

// emptyShape is one compacted topic of TestReferenceEmptyBatches.
type emptyShape struct {
	name, topic string
	configs     map[string]*string
	size        int // bytes of filler in each value
	writes      []emptyWrite
	shape       []int32 // the records of each batch a Fetch at 0 returns once cleaned
	want        []record
}

// emptyWrite is one record, with one of several idempotent producers; keep is false
// for the one a later record of the same key makes the cleaner remove.
type emptyWrite struct {
	producer int
	key      string
	keep     bool
}

// make creates the topic and writes the records, each in a batch of its own; the last
// one is written after segment.ms, so it rolls the segment.
func (sh *emptyShape) make(ctx context.Context, t *testing.T, addr string, adm *kadm.Client) {
	t.Helper()
	configs := map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
		"max.message.bytes":         kadm.StringPtr("1048588"),
	}
	for k, v := range sh.configs {
		configs[k] = v
	}
	resp, err := adm.CreateTopic(ctx, 1, 1, configs, sh.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s on Kafka: %v (%s)", sh.topic, err, resp.ErrMessage)
	}
	producers := map[int]*kgo.Client{}
	for i, w := range sh.writes {
		p := producers[w.producer]
		if p == nil {
			p = newKgoClient(t, addr, kgo.DefaultProduceTopic(sh.topic), kgo.ProducerBatchMaxBytes(1<<20),
				kgo.ProducerBatchCompression(kgo.NoCompression())) // segments fill with the bytes written
			producers[w.producer] = p
		}
		if i == len(sh.writes)-1 {
			time.Sleep(200 * time.Millisecond) // past segment.ms: this append rolls the segment
		}
		kind := "drop"
		if w.keep {
			kind = "keep"
		}
		value := fmt.Sprintf("%s-%s-%d|%s", kind, sh.name, i, strings.Repeat("x", sh.size))
		res, err := p.ProduceSync(ctx, &kgo.Record{Key: []byte(w.key), Value: []byte(value)}).First()
		if err != nil {
			t.Fatalf("produce to %s on Kafka: %v", sh.topic, err)
		}
		if res.Offset != int64(i) {
			t.Fatalf("%s: record %d at offset %d", sh.topic, i, res.Offset)
		}
		if w.keep {
			sh.want = append(sh.want, record{Key: w.key, Value: value, Offset: res.Offset})
		}
	}
}

// waitCleaned waits until the cleaner has emptied the batch of the record it removes,
// and checks the batches of a Fetch at 0.
func (sh *emptyShape) waitCleaned(ctx context.Context, t *testing.T, cl *kgo.Client) {
	t.Helper()
	md, err := kadm.NewClient(cl).Metadata(ctx, sh.topic)
	if err != nil {
		t.Fatalf("metadata of %s: %v", sh.topic, err)
	}
	id := md.Topics[sh.topic].ID
	start := time.Now()
	var got []viewBatch
	waitFor(ctx, t, sh.topic+" compacted on Kafka", func() error {
		bs, err := fetchRaw(ctx, cl, sh.topic, id, 0, 0)
		if err != nil {
			return err
		}
		got = got[:0]
		counts := []int32{}
		for _, b := range bs {
			got = append(got, decodeBatch(t, kgo.DefaultDecompressor(), sh.topic, 0, b))
			counts = append(counts, b.NumRecords)
		}
		if !slices.Equal(counts, sh.shape) {
			return fmt.Errorf("a Fetch at 0 returns %s, want batches of %v records", describeBatches(got), sh.shape)
		}
		return nil
	})
	t.Logf("Kafka cleaned %s in %v; a Fetch at 0 returns %s", sh.topic, time.Since(start).Round(time.Second), describeBatches(got))
	for _, b := range got {
		if b.last != b.first {
			t.Errorf("%s: batch %d..%d, want each batch to cover its one offset", sh.topic, b.first, b.last)
		}
	}
}

// readCompacted has c consume the topic from the beginning and returns nil when it read
// the two live records at their offsets within 20s.
func readCompacted(t *testing.T, c viewClient, addr string, sh emptyShape) error {
	reads := newViewReads()
	stop, err := c.consume(t, addr, sh.topic, reads)
	if err != nil {
		return err
	}
	defer stop()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, notes := reads.snapshot()
		done, err := compareReads(sh.want, got)
		switch {
		case err != nil:
			return err
		case done:
			return nil
		}
		if end := reads.ended(); end != "" {
			return fmt.Errorf("read %d of %d records; %s", len(got), len(sh.want), end)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: read %d of %d records in 20s; errors it reported: %q", errNoRecords, len(got), len(sh.want), first(notes, 3))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
