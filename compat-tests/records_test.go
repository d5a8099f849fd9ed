package compat_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// header and record are the client-neutral form of what a test produces and
// expects back. Partition and Offset are filled in from the produce
// acknowledgement, and from the consumer on the way back.
type header struct{ Key, Value string }

type record struct {
	Key, Value string
	Headers    []header
	Partition  int32
	Offset     int64
}

func (r record) String() string {
	return fmt.Sprintf("p%d@%d key=%q value=%.40q headers=%v", r.Partition, r.Offset, r.Key, r.Value, r.Headers)
}

// makeRecords returns n records for one codec: keys repeat (so a key
// partitioner sends several to each partition), values are unique and
// compressible, one value is 64 KiB, and each record carries headers with a
// repeated key whose order must survive.
func makeRecords(codec string, n int) []record {
	recs := make([]record, n)
	for i := range recs {
		filler := strings.Repeat("skiff speaks kafka ", 10+i%20)
		if i == n/2 {
			filler = strings.Repeat("a large record ", 65536/15)
		}
		recs[i] = record{
			Key:   "key-" + strconv.Itoa(i%7),
			Value: fmt.Sprintf("%s-%04d|%s", codec, i, filler),
			Headers: []header{
				{"codec", codec},
				{"index", strconv.Itoa(i)},
				{"dup", "first"},
				{"dup", "second"},
			},
			Partition: -1,
			Offset:    -1,
		}
	}
	return recs
}

// checkProduced checks the acknowledgements of a produce to a fresh topic:
// every record acknowledged in order, keys sticking to one partition, and the
// offsets of each partition running 0, 1, 2… in the order records were sent.
func checkProduced(t *testing.T, sent, acked []record, partitions int32) {
	t.Helper()
	if len(acked) != len(sent) {
		t.Fatalf("produced %d records, got %d acknowledgements", len(sent), len(acked))
	}
	keyPartition := make(map[string]int32)
	next := make(map[int32]int64)
	for i, a := range acked {
		if !sameContent(sent[i], a) {
			t.Fatalf("acknowledgement %d is for %v, want %v", i, a, sent[i])
		}
		if a.Partition < 0 || a.Partition >= partitions {
			t.Fatalf("record %d acknowledged on partition %d, topic has %d", i, a.Partition, partitions)
		}
		if p, ok := keyPartition[a.Key]; ok && p != a.Partition {
			t.Errorf("key %q went to partitions %d and %d", a.Key, p, a.Partition)
		}
		keyPartition[a.Key] = a.Partition
		if a.Offset != next[a.Partition] {
			t.Fatalf("record %d acknowledged at offset %d of partition %d, want %d (offsets must run 0,1,2… in send order)",
				i, a.Offset, a.Partition, next[a.Partition])
		}
		next[a.Partition]++
	}
}

// checkConsumed compares what a consumer read with what was acknowledged:
// per partition, the same records at the same offsets in the same order,
// with nothing missing, extra or repeated.
func checkConsumed(t *testing.T, acked, got []record) {
	t.Helper()
	seen := make(map[string]int, len(got))
	for _, r := range got {
		seen[r.Value]++
	}
	for v, n := range seen {
		if n > 1 {
			t.Errorf("value %.40q consumed %d times", v, n)
		}
	}
	want, have := byPartition(acked), byPartition(got)
	for p := range union(want, have) {
		w, h := want[p], have[p]
		for i := 0; i < max(len(w), len(h)); i++ {
			switch {
			case i >= len(h):
				t.Errorf("partition %d: missing %d records from %v on", p, len(w)-i, w[i])
				return
			case i >= len(w):
				t.Errorf("partition %d: %d unexpected records from %v on", p, len(h)-i, h[i])
				return
			case !sameContent(w[i], h[i]) || w[i].Offset != h[i].Offset:
				t.Errorf("partition %d, record %d:\n got  %v\n want %v", p, i, h[i], w[i])
				return
			}
		}
	}
	if len(got) != len(acked) {
		t.Errorf("consumed %d records, want %d", len(got), len(acked))
	}
}

func sameContent(a, b record) bool {
	return a.Key == b.Key && a.Value == b.Value && slices.Equal(a.Headers, b.Headers)
}

// byPartition groups records by partition, keeping their order.
func byPartition(recs []record) map[int32][]record {
	m := make(map[int32][]record)
	for _, r := range recs {
		m[r.Partition] = append(m[r.Partition], r)
	}
	return m
}

func union(a, b map[int32][]record) map[int32]bool {
	u := make(map[int32]bool, len(a))
	for p := range a {
		u[p] = true
	}
	for p := range b {
		u[p] = true
	}
	return u
}

// countsByPartition returns how many records each partition should hold.
func countsByPartition(recs []record) map[int32]int64 {
	m := make(map[int32]int64)
	for _, r := range recs {
		m[r.Partition]++
	}
	return m
}

// indexByValue maps each record's value to its position in recs; values are
// unique, so clients that report acknowledgements out of order can be
// matched back.
func indexByValue(recs []record) map[string]int {
	m := make(map[string]int, len(recs))
	for i, r := range recs {
		m[r.Value] = i
	}
	return m
}
