package protocol

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzLimit bounds decompression while fuzzing.
const fuzzLimit = 1 << 20

// fuzzSeeds returns valid batches of every codec, several batches in a row,
// and corruptions of them, so that `go test` runs the fuzz targets over all
// of them as ordinary tests.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	one := []Record{{Value: []byte("v")}}
	for _, c := range allCodecs {
		b := mustBuild(tb, testHeader(), testRecords(), c)
		seeds = append(seeds, b, mustBuild(tb, testHeader(), one, c))

		flipped := bytes.Clone(b)
		flipped[len(flipped)/2] ^= 0x40
		truncated := b[:len(b)-1]
		magic1 := bytes.Clone(b)
		magic1[offMagic] = 1
		recounted := bytes.Clone(b)
		put32(recounted, offNumRecords, 9)
		put32(recounted, offLastOffsetDelta, 8)
		recrc(recounted)
		seeds = append(seeds, flipped, truncated, magic1, recounted)
	}
	good := mustBuild(tb, testHeader(), testRecords(), CodecNone)
	seeds = append(seeds,
		append(bytes.Clone(good), mustBuild(tb, testHeader(), one, CodecZstd)...),
		append(bytes.Clone(good), 0, 0, 0),
		legacyMessageSet(),
		nil,
	)
	return seeds
}

// isSentinel reports whether err wraps one of the package's sentinels.
func isSentinel(err error) bool {
	return errors.Is(err, ErrTruncatedBatch) || errors.Is(err, ErrCorruptBatch) || errors.Is(err, ErrUnsupportedMagic) ||
		errors.Is(err, ErrInvalidRecord) || errors.Is(err, ErrDecompressLimit)
}

// batchSentinels counts the validation sentinels err wraps: the broker maps
// each to its own Kafka error code, so an error must wrap exactly one.
func batchSentinels(err error) int {
	n := 0
	for _, s := range []error{ErrTruncatedBatch, ErrCorruptBatch, ErrUnsupportedMagic, ErrInvalidRecord} {
		if errors.Is(err, s) {
			n++
		}
	}
	return n
}

// FuzzValidateBatches checks these invariants of ValidateBatches:
//
//   - it never panics, and every error wraps exactly one of
//     ErrTruncatedBatch, ErrCorruptBatch, ErrUnsupportedMagic and
//     ErrInvalidRecord;
//   - NextBatch agrees: an input whose first batch it cannot frame fails
//     with the same sentinel, and what it frames is a prefix of the input;
//   - truncation is told from corruption: cutting accepted input anywhere
//     inside its last batch gives ErrTruncatedBatch, never another error
//     (Kafka answers INVALID_RECORD there, CORRUPT_MESSAGE only for bytes
//     that are all there but wrong);
//   - on success the TotalSize of the returned headers sum to len(input),
//     each has magic 2, NumRecords ≥ 1 and LastOffsetDelta == NumRecords-1,
//     and each matches ParseBatchHeader at its position;
//   - accepted input re-validates to the same headers after SetBaseOffset
//     and SetPartitionLeaderEpoch (only those two fields change), and after
//     SetLogAppendTime (which sets the timestamp type and MaxTimestamp);
//   - ParseRecords agrees: it returns exactly NumRecords records for every
//     accepted uncompressed batch, and never more than NumRecords for a
//     compressed one.
func FuzzValidateBatches(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		headers, err := ValidateBatches(input)
		batch, rest, nerr := NextBatch(input)
		switch {
		case nerr != nil && len(input) > 0 && (batchSentinels(nerr) != 1 || !errors.Is(err, sentinelOf(nerr))):
			t.Fatalf("NextBatch: %v; ValidateBatches: %v", nerr, err)
		case nerr == nil && (len(batch)+len(rest) != len(input) || len(batch) < lengthPrefixSize+minMessageLength):
			t.Fatalf("NextBatch framed %d + %d bytes of %d", len(batch), len(rest), len(input))
		}
		if err != nil {
			if batchSentinels(err) != 1 {
				t.Fatalf("error wraps %d sentinels: %v", batchSentinels(err), err)
			}
			return
		}
		last := 0
		for _, h := range headers[:len(headers)-1] {
			last += h.TotalSize()
		}
		for _, cut := range []int{last, last + 1, last + 11, last + 12, last + 16, last + 17, last + BatchHeaderSize, len(input) - 1} {
			if cut < last || cut >= len(input) || (cut == last && last > 0) {
				continue
			}
			if _, err := ValidateBatches(input[:cut]); !errors.Is(err, ErrTruncatedBatch) || batchSentinels(err) != 1 {
				t.Fatalf("cut at %d of %d (last batch at %d): %v, want ErrTruncatedBatch", cut, len(input), last, err)
			}
		}
		rewritten := bytes.Clone(input)
		stamped := bytes.Clone(input)
		off := 0
		for i, h := range headers {
			if h.Magic != 2 || h.NumRecords < 1 || h.LastOffsetDelta != h.NumRecords-1 {
				t.Fatalf("batch %d: accepted header %+v", i, h)
			}
			if p, _ := ParseBatchHeader(input[off:]); p != h {
				t.Fatalf("batch %d: header %+v, ParseBatchHeader says %+v", i, h, p)
			}
			batch := input[off : off+h.TotalSize()]
			recs, err := ParseRecords(h, batch, fuzzLimit)
			if len(recs) > int(h.NumRecords) {
				t.Fatalf("batch %d: ParseRecords returned %d records, header says %d", i, len(recs), h.NumRecords)
			}
			if h.Compression() == CodecNone && (err != nil || len(recs) != int(h.NumRecords)) {
				t.Fatalf("batch %d: validated but ParseRecords gives %d records, %v", i, len(recs), err)
			}
			if err != nil && !isSentinel(err) {
				t.Fatalf("batch %d: ParseRecords error wraps no sentinel: %v", i, err)
			}
			SetBaseOffset(rewritten[off:], int64(i)*1000+7)
			SetPartitionLeaderEpoch(rewritten[off:], int32(i)+3)
			SetLogAppendTime(stamped[off:], 1<<41+int64(i))
			off += h.TotalSize()
		}
		if off != len(input) {
			t.Fatalf("headers cover %d bytes of %d", off, len(input))
		}

		again, err := ValidateBatches(rewritten)
		if err != nil || len(again) != len(headers) {
			t.Fatalf("after SetBaseOffset/SetPartitionLeaderEpoch: %d headers, %v", len(again), err)
		}
		for i, h := range headers {
			h.BaseOffset, h.PartitionLeaderEpoch = int64(i)*1000+7, int32(i)+3
			if again[i] != h {
				t.Fatalf("batch %d after rewrite: %+v, want %+v", i, again[i], h)
			}
		}

		again, err = ValidateBatches(stamped)
		if err != nil || len(again) != len(headers) {
			t.Fatalf("after SetLogAppendTime: %d headers, %v", len(again), err)
		}
		for i, h := range headers {
			g := again[i]
			if !g.LogAppendTime() || g.MaxTimestamp != 1<<41+int64(i) || g.Attributes&^attrLogAppendTime != h.Attributes&^attrLogAppendTime {
				t.Fatalf("batch %d after SetLogAppendTime: %+v, was %+v", i, g, h)
			}
			g.Attributes, g.MaxTimestamp, g.CRC = h.Attributes, h.MaxTimestamp, h.CRC
			if g != h {
				t.Fatalf("batch %d: SetLogAppendTime changed other fields: %+v, was %+v", i, again[i], h)
			}
		}
	})
}

// sentinelOf returns the validation sentinel err wraps.
func sentinelOf(err error) error {
	for _, s := range []error{ErrTruncatedBatch, ErrCorruptBatch, ErrUnsupportedMagic, ErrInvalidRecord} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}
