package compat_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// What the view scenario finds on the broker with raw Fetches (franz-go's kmsg, no
// consumer logic): the truth a client's reads are compared with.

// viewBatch is one record batch of a raw Fetch.
type viewBatch struct {
	first, last int64 // the offsets it covers: base offset, base + lastOffsetDelta
	codec       string
	count       int32 // NumRecords
	recs        []record
	response    int // which raw Fetch response of readBatches it came in
}

func (b viewBatch) matches() (n int) {
	for _, r := range b.recs {
		if isMatch(r.Value) {
			n++
		}
	}
	return n
}

var codecNames = map[int16]string{0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

// readBatches reads every batch of every partition of topic up to its end offset.
func (r *viewRun) readBatches(topic string, ends map[int32]int64) map[int32][]viewBatch {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	id := r.topicID(topic)
	dec := kgo.DefaultDecompressor()
	out := map[int32][]viewBatch{}
	response := 0
	for p := range int32(viewPartitions) {
		for offset := int64(0); offset < ends[p]; {
			response++
			batches, err := fetchRaw(ctx, r.cl, topic, id, p, offset)
			if err != nil {
				r.t.Fatalf("raw fetch of %s-%d at %d: %v", topic, p, offset, err)
			}
			next := offset
			for _, b := range batches {
				vb := decodeBatch(r.t, dec, topic, p, b)
				vb.response = response
				out[p] = append(out[p], vb)
				next = max(next, vb.last+1)
			}
			if next == offset {
				r.t.Fatalf("raw fetch of %s-%d at %d (end offset %d) returned %d batches, none past %d: %s",
					topic, p, offset, ends[p], len(batches), offset, describeBatches(out[p][max(0, len(out[p])-3):]))
			}
			offset = next
		}
	}
	return out
}

// decodeBatch decodes one batch with franz-go's own record decoding.
func decodeBatch(t *testing.T, dec kgo.Decompressor, topic string, p int32, b kmsg.RecordBatch) viewBatch {
	t.Helper()
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.Partition, rp.HighWatermark = p, b.FirstOffset+int64(b.LastOffsetDelta)+1
	rp.RecordBatches = b.AppendTo(nil)
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: topic, Partition: p}, &rp, dec, nil)
	if fp.Err != nil {
		t.Fatalf("decode batch of %s-%d at %d: %v", topic, p, b.FirstOffset, fp.Err)
	}
	vb := viewBatch{first: b.FirstOffset, last: b.FirstOffset + int64(b.LastOffsetDelta), codec: codecNames[b.Attributes&7], count: b.NumRecords}
	for _, kr := range fp.Records {
		vb.recs = append(vb.recs, fromKgo(kr))
	}
	if int(b.NumRecords) != len(vb.recs) {
		t.Fatalf("batch of %s-%d at %d says %d records, holds %d", topic, p, b.FirstOffset, b.NumRecords, len(vb.recs))
	}
	return vb
}

func describeBatches(bs []viewBatch) string {
	var out []string
	for _, b := range bs {
		out = append(out, fmt.Sprintf("[%d..%d %s, %d records]", b.first, b.last, b.codec, b.count))
	}
	return strings.Join(out, " ")
}

// checkSource checks that SRC holds the plan at dense offsets, that the client's
// acknowledgements say where each record is, and that the batches have the shape
// the scenario needs; it returns the batches.
func (r *viewRun) checkSource(topic string, plan []viewSend, acks []record) map[int32][]viewBatch {
	r.t.Helper()
	ends := r.endOffsets(topic)
	batches := r.readBatches(topic, ends)
	at := map[string]record{}
	for p, bs := range batches {
		var got []string
		for _, b := range bs {
			for _, rec := range b.recs {
				if rec.Offset != int64(len(got)) || rec.Key != viewKey(rec.Value) {
					r.t.Fatalf("%s-%d: record %d is %v, want offset %d and key %q", topic, p, len(got), rec, len(got), viewKey(rec.Value))
				}
				got = append(got, rec.Value)
				at[rec.Value] = rec
			}
		}
		if want := planValues(plan, p); !slices.Equal(got, want) {
			r.t.Fatalf("%s-%d holds %d records, not the %d of the plan in order (first difference at %d)", topic, p, len(got), len(want), firstDiff(got, want))
		}
		if ends[p] != int64(len(got)) {
			r.t.Fatalf("%s-%d: end offset %d, holds %d records", topic, p, ends[p], len(got))
		}
		r.checkShape(topic, p, bs)
	}
	if acks == nil {
		r.t.Logf("%s reports no offsets when it produces; the offsets are those franz-go reads", r.c.name)
		return batches
	}
	if len(acks) != len(at) {
		r.t.Fatalf("%s acknowledged %d records, %s holds %d", r.c.name, len(acks), topic, len(at))
	}
	for _, a := range acks {
		if w := at[a.Value]; a.Partition != w.Partition || a.Offset != w.Offset {
			r.t.Fatalf("%s acknowledged %s at partition %d offset %d; franz-go reads it at partition %d offset %d",
				r.c.name, viewKey(a.Value), a.Partition, a.Offset, w.Partition, w.Offset)
		}
	}
	return batches
}

// checkShape fails the test when the client's batches lack what the scenario is
// about: single-record batches without a match, multi-record batches without one,
// compressed batches with and without matches in every codec, a filtered tail.
func (r *viewRun) checkShape(topic string, p int32, bs []viewBatch) {
	r.t.Helper()
	singles, emptyMulti, empty, matchingCodec, emptyCodec := 0, 0, 0, map[string]int{}, map[string]int{}
	for _, b := range bs {
		m := b.matches()
		switch {
		case m == 0 && b.count == 1:
			singles++
		case m == 0 && b.codec == "none":
			emptyMulti++
		case m == 0:
			emptyCodec[b.codec]++
		default:
			matchingCodec[b.codec]++
		}
		if m == 0 {
			empty++
		}
	}
	var lacks []string
	if singles < 10 {
		lacks = append(lacks, fmt.Sprintf("%d single-record batches without a match, want 10 or more", singles))
	}
	if emptyMulti == 0 {
		lacks = append(lacks, "no uncompressed multi-record batch without a match")
	}
	for _, c := range viewCodecs {
		if matchingCodec[c] == 0 || emptyCodec[c] == 0 {
			lacks = append(lacks, fmt.Sprintf("%s: %d batches with a match and %d without, want both", c, matchingCodec[c], emptyCodec[c]))
		}
	}
	if len(bs) == 0 || bs[len(bs)-1].matches() > 0 {
		lacks = append(lacks, "the last batch has a match, want a filtered tail")
	}
	if len(lacks) > 0 {
		r.t.Fatalf("%s did not produce the batches the scenario needs to %s-%d: %s\nbatches: %s", r.c.name, topic, p, strings.Join(lacks, "; "), describeBatches(bs))
	}
	r.t.Logf("%s-%d: %d batches, %d of them without a match (%d single-record); compressed with a match %v, without %v",
		topic, p, len(bs), empty, singles, matchingCodec, emptyCodec)
}

// checkView checks the view's own answer: its end offsets are the source's, and
// each batch covers its source batch's offsets, keeps its codec (if it has records
// left) and holds exactly its matches at their source offsets.
func (r *viewRun) checkView(view string, src map[int32][]viewBatch) {
	r.t.Helper()
	ends := r.endOffsets(view)
	if want := endsOf(src); !maps.Equal(ends, want) {
		r.t.Fatalf("view %s has end offsets %v, its source %v", view, ends, want)
	}
	got := r.readBatches(view, ends)
	for p := range int32(viewPartitions) {
		// The source batches with a match come out as they were, holding
		// the matches; those without are left out, except that a fetch
		// response that would hold nothing else gets one empty batch (as
		// Kafka's log cleaner leaves them; codec none) spanning them, so
		// that the consumer moves past. Never two empty batches in a row,
		// nor one after a batch with records.
		var want []viewBatch
		for _, w := range src[p] {
			var m []record
			for _, rec := range w.recs {
				if isMatch(rec.Value) {
					m = append(m, rec)
				}
			}
			if len(m) > 0 {
				w.recs = m
				want = append(want, w)
			}
		}
		empty, i := 0, 0
		prevEmpty := false
		for j, g := range got[p] {
			if g.count == 0 {
				if j > 0 && got[p][j-1].count > 0 && got[p][j-1].response == g.response {
					r.t.Fatalf("view %s-%d: an empty batch after one with records in one response, at %d", view, p, g.first)
				}
				if prevEmpty {
					r.t.Fatalf("view %s-%d: two empty batches in a row at %d: %s", view, p, g.first, describeBatches(got[p]))
				}
				if g.codec != "none" || !noMatchesIn(src[p], g.first, g.last) {
					r.t.Fatalf("view %s-%d: empty batch [%d..%d %s] covers source records that match, or does not end on a source batch", view, p, g.first, g.last, g.codec)
				}
				empty++
				prevEmpty = true
				continue
			}
			prevEmpty = false
			if i >= len(want) {
				r.t.Fatalf("view %s-%d: more batches with records than its source has batches with matches:\nview:   %s", view, p, describeBatches(got[p]))
			}
			w := want[i]
			i++
			if g.first != w.first || g.last != w.last || g.codec != w.codec || !sameRecords(g.recs, w.recs) {
				r.t.Fatalf("view %s-%d batch [%d..%d %s] with %v\nsource batch [%d..%d %s] with matches %v",
					view, p, g.first, g.last, g.codec, g.recs, w.first, w.last, w.codec, w.recs)
			}
		}
		if i != len(want) {
			r.t.Fatalf("view %s-%d has %d batches with records, its source %d with matches:\nview:   %s", view, p, i, len(want), describeBatches(got[p]))
		}
		r.t.Logf("view %s-%d: %d batches, %d of them with no records; its source %d", view, p, len(got[p]), empty, len(src[p]))
	}
}

// noMatchesIn reports whether the source batches from first to last hold no
// match and first and last are on source batch boundaries.
func noMatchesIn(src []viewBatch, first, last int64) bool {
	startOK, endOK := false, false
	for _, b := range src {
		if b.last < first || b.first > last {
			continue
		}
		startOK = startOK || b.first == first
		endOK = endOK || b.last == last
		for _, rec := range b.recs {
			if isMatch(rec.Value) {
				return false
			}
		}
	}
	return startOK && endOK
}

// checkIngest checks that a topic with a produce-time filter holds the plan's
// matches in order at dense offsets, and returns them.
func (r *viewRun) checkIngest(topic string, plan []viewSend) []record {
	r.t.Helper()
	ends := r.endOffsets(topic)
	batches := r.readBatches(topic, ends)
	var stored []record
	for p := range int32(viewPartitions) {
		var got []string
		empty := 0
		for _, b := range batches[p] {
			if b.count == 0 {
				empty++
			}
			for _, rec := range b.recs {
				if rec.Offset != int64(len(got)) {
					r.t.Fatalf("%s-%d: record %d is %v, want offset %d: the offsets of stored records must be dense", topic, p, len(got), rec, len(got))
				}
				got = append(got, rec.Value)
				stored = append(stored, rec)
			}
		}
		var want []string
		for _, v := range planValues(plan, p) {
			if isMatch(v) {
				want = append(want, v)
			}
		}
		if !slices.Equal(got, want) {
			r.t.Fatalf("%s-%d holds %d records, want the plan's %d matches in order (first difference at %d)", topic, p, len(got), len(want), firstDiff(got, want))
		}
		if ends[p] != int64(len(got)) {
			r.t.Fatalf("%s-%d: end offset %d, holds %d records", topic, p, ends[p], len(got))
		}
		r.t.Logf("%s-%d: %d records in %d batches (%d with no records)", topic, p, len(got), len(batches[p]), empty)
	}
	return stored
}

func planValues(plan []viewSend, p int32) []string {
	var vs []string
	for _, s := range plan {
		if s.Partition == p {
			vs = append(vs, s.Values...)
		}
	}
	return vs
}

// matches returns the records of the batches that the filter keeps.
func matches(batches map[int32][]viewBatch) []record {
	var out []record
	for p := range int32(viewPartitions) {
		for _, b := range batches[p] {
			for _, rec := range b.recs {
				if isMatch(rec.Value) {
					out = append(out, rec)
				}
			}
		}
	}
	return out
}

// endsOf returns the offset after each partition's last batch.
func endsOf(batches map[int32][]viewBatch) map[int32]int64 {
	out := map[int32]int64{}
	for p := range int32(viewPartitions) {
		out[p] = 0
		if bs := batches[p]; len(bs) > 0 {
			out[p] = bs[len(bs)-1].last + 1
		}
	}
	return out
}

func sameRecords(a, b []record) bool {
	return slices.EqualFunc(a, b, func(x, y record) bool {
		return x.Partition == y.Partition && x.Offset == y.Offset && sameContent(x, y)
	})
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
