package protocol

import (
	"reflect"
	"testing"
)

// FuzzParseRecords feeds arbitrary bytes to ParseRecords with the header
// parsed from them. The CRC is not checked there, so the fuzzer reaches the
// decompressors and the record decoder directly. Invariants:
//
//   - it never panics, and every error wraps one of the package's sentinels;
//   - it never returns more records than the header's NumRecords, and on
//     success exactly that many;
//   - decompression never yields more than the limit;
//   - what it accepts survives BuildBatch: rebuilding the records (as
//     uncompressed and as zstd) validates and parses back to the same
//     records, renumbered 0..n-1;
//   - the allocation-free walker ValidateBatches uses (scanRecord) accepts
//     exactly the records the parser does (readRecord), with the same sizes
//     and offset deltas, on the bytes after the header.
func FuzzParseRecords(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > BatchHeaderSize {
			checkWalkersAgree(t, input[BatchHeaderSize:])
		}
		h, err := ParseBatchHeader(input)
		if err != nil {
			return
		}
		recs, err := ParseRecords(h, input, fuzzLimit)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if recs != nil {
				t.Fatalf("%d records returned with error %v", len(recs), err)
			}
			return
		}
		if len(recs) != int(h.NumRecords) {
			t.Fatalf("%d records, header says %d", len(recs), h.NumRecords)
		}
		if len(recs) == 0 {
			return
		}
		for i := range recs {
			recs[i].OffsetDelta = int32(i)
		}
		for _, c := range []Codec{CodecNone, CodecZstd} {
			b, err := BuildBatch(h, recs, c)
			if err != nil {
				t.Fatalf("BuildBatch(%s): %v", c, err)
			}
			hs, err := ValidateBatches(b)
			if err != nil {
				t.Fatalf("rebuilt %s batch does not validate: %v", c, err)
			}
			again, err := ParseRecords(hs[0], b, 4*len(b)+fuzzLimit)
			if err != nil {
				t.Fatalf("rebuilt %s batch does not parse: %v", c, err)
			}
			if !reflect.DeepEqual(again, recs) {
				t.Fatalf("rebuilt %s records differ\n got %+v\nwant %+v", c, again, recs)
			}
		}
	})
}

// FuzzDecompress checks that Decompress never panics, that errors wrap
// ErrCorruptBatch or ErrDecompressLimit, and that output never exceeds the
// limit.
func FuzzDecompress(f *testing.F) {
	for _, c := range allCodecs {
		for _, size := range []int{0, 10, 5000} {
			comp, err := Compress(c, testPayload(size))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(byte(c), uint16(size), comp)
		}
		for _, form := range clientForms(f, testPayload(3000)) {
			f.Add(byte(form.c), uint16(3000), form.data)
		}
	}
	f.Fuzz(func(t *testing.T, codec byte, limit uint16, src []byte) {
		out, err := Decompress(Codec(codec%8), src, int(limit))
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(out) > int(limit) {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
	})
}

// checkWalkersAgree runs scanRecord and readRecord over data record by
// record and fails on the first disagreement.
func checkWalkersAgree(t *testing.T, data []byte) {
	for len(data) > 0 {
		size, delta, ok := scanRecord(data)
		var r Record
		n, err := readRecord(data, &r, false)
		if ok != (err == nil) {
			t.Fatalf("scanRecord ok=%v but readRecord err=%v on % x", ok, err, data[:min(len(data), 64)])
		}
		if !ok {
			return
		}
		if size != n || delta != r.OffsetDelta {
			t.Fatalf("scanRecord gives size %d delta %d, readRecord %d and %d", size, delta, n, r.OffsetDelta)
		}
		data = data[n:]
	}
}
