package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// testHeader is a producer's view of a batch header: the fields BuildBatch
// takes from its caller.
func testHeader() BatchHeader {
	return BatchHeader{
		BaseOffset:           0,
		PartitionLeaderEpoch: -1,
		BaseTimestamp:        1_700_000_000_000,
		MaxTimestamp:         1_700_000_000_042,
		ProducerID:           7,
		ProducerEpoch:        1,
		BaseSequence:         100,
	}
}

// testRecords covers null and empty keys and values and headers.
func testRecords() []Record {
	return []Record{
		{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("k0"), Value: []byte("hello")},
		{OffsetDelta: 1, TimestampDelta: 42, Key: nil, Value: []byte{}},
		{OffsetDelta: 2, TimestampDelta: -3, Key: []byte{}, Value: nil, Headers: []RecordHeader{
			{Key: "trace", Value: []byte("abc")},
			{Key: "", Value: nil},
		}},
		{OffsetDelta: 3, TimestampDelta: 1 << 40, Attributes: 0, Key: bytes.Repeat([]byte("x"), 300), Value: bytes.Repeat([]byte("yz"), 200)},
	}
}

func mustBuild(tb testing.TB, h BatchHeader, records []Record, c Codec) []byte {
	tb.Helper()
	b, err := BuildBatch(h, records, c)
	if err != nil {
		tb.Fatalf("BuildBatch(%s): %v", c, err)
	}
	return b
}

// assemble wraps a raw records section in a header, fixing Length and CRC
// but taking NumRecords and LastOffsetDelta from h as given.
func assemble(h BatchHeader, section []byte) []byte {
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(section))
	b = append(b, section...)
	h.Magic = CurrentMagic
	h.Length = int32(len(b) - lengthPrefixSize)
	putBatchHeader(b, h)
	recrc(b)
	return b
}

// recrc recomputes the CRC of a batch after a test edits it.
func recrc(b []byte) {
	binary.BigEndian.PutUint32(b[offCRC:], CRC32C(b[offAttributes:]))
}

func put32(b []byte, off int, v int32) { binary.BigEndian.PutUint32(b[off:], uint32(v)) }

// legacyMessageSet is a magic 1 message set with one message, as a Kafka
// 0.10 client sends it.
func legacyMessageSet() []byte {
	msg := []byte{0, 0, 0, 0, 1, 0} // crc (unchecked here), magic 1, attributes
	msg = binary.BigEndian.AppendUint64(msg, 1_700_000_000_000)
	msg = binary.BigEndian.AppendUint32(msg, 0xffffffff) // null key
	msg = binary.BigEndian.AppendUint32(msg, 2)
	msg = append(msg, "hi"...)
	b := binary.BigEndian.AppendUint64(nil, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	return append(b, msg...)
}

func TestProtocolCRC32C(t *testing.T) {
	// The check value of CRC-32C (RFC 3720, B.4).
	if got := CRC32C([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("CRC32C(123456789) = %#x, want 0xe3069283", got)
	}
}

func TestProtocolParseBatchHeader(t *testing.T) {
	h := testHeader()
	h.BaseOffset = 1234
	h.Attributes = attrTransactional | attrLogAppendTime | int16(CodecLZ4)
	b := mustBuild(t, h, testRecords(), CodecLZ4)
	got, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := h
	want.Magic, want.Length, want.NumRecords, want.LastOffsetDelta = 2, int32(len(b)-12), 4, 3
	want.CRC = binary.BigEndian.Uint32(b[offCRC:])
	if got != want {
		t.Fatalf("header\n got %+v\nwant %+v", got, want)
	}
	if got.Compression() != CodecLZ4 || !got.LogAppendTime() || !got.Transactional() || got.Control() {
		t.Fatalf("attribute accessors disagree with %#x", got.Attributes)
	}
	if got.TotalSize() != len(b) {
		t.Fatalf("TotalSize = %d, want %d", got.TotalSize(), len(b))
	}
	if _, err := ParseBatchHeader(b[:BatchHeaderSize-1]); !errors.Is(err, ErrTruncatedBatch) {
		t.Fatalf("short header: err = %v, want ErrTruncatedBatch", err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseBatchHeader(b) }); n != 0 {
		t.Fatalf("ParseBatchHeader allocates %v times", n)
	}
}

func TestProtocolValidateBatches(t *testing.T) {
	good := mustBuild(t, testHeader(), testRecords(), CodecNone)
	section := func(recs ...Record) []byte {
		var s []byte
		for _, r := range recs {
			s = AppendRecord(s, r)
		}
		return s
	}
	withCount := func(n int32) BatchHeader {
		h := testHeader()
		h.NumRecords, h.LastOffsetDelta = n, n-1
		return h
	}
	r0 := Record{OffsetDelta: 0, Value: []byte("v")}
	r1 := Record{OffsetDelta: 1, Value: []byte("v")}

	tests := []struct {
		name    string
		input   func() []byte
		want    error // nil: valid
		batches int
		msg     string // part of the error message
	}{
		{"good", func() []byte { return good }, nil, 1, ""},
		{"two batches", func() []byte { return append(bytes.Clone(good), good...) }, nil, 2, ""},
		{"every codec", func() []byte {
			var all []byte
			for _, c := range allCodecs {
				all = append(all, mustBuild(t, testHeader(), testRecords(), c)...)
			}
			return all
		}, nil, len(allCodecs), ""},
		{"any base offset", func() []byte { b := bytes.Clone(good); SetBaseOffset(b, -99); return b }, nil, 1, ""},
		{"max timestamp below base", func() []byte {
			h := testHeader()
			h.MaxTimestamp = h.BaseTimestamp - 1000
			return mustBuild(t, h, testRecords(), CodecNone)
		}, nil, 1, ""},
		{"empty", func() []byte { return nil }, ErrTruncatedBatch, 0, "no record batches"},
		{"no length field", func() []byte { return good[:11] }, ErrTruncatedBatch, 0, "too few to hold a batch length"},
		{"no magic", func() []byte { return good[:16] }, ErrTruncatedBatch, 0, "too few to hold a batch magic"},
		{"truncated header", func() []byte { return good[:30] }, ErrTruncatedBatch, 0, "does not fit"},
		{"truncated batch", func() []byte { return good[:len(good)-1] }, ErrTruncatedBatch, 0, "does not fit"},
		{"truncated, CRC mismatch", func() []byte { b := bytes.Clone(good); b[offCRC] ^= 1; return b[:len(b)-1] }, ErrTruncatedBatch, 0, "does not fit"},
		{"truncated legacy message", func() []byte { m := legacyMessageSet(); return m[:len(m)-1] }, ErrTruncatedBatch, 0, "does not fit"},
		{"flipped CRC byte", func() []byte { b := bytes.Clone(good); b[offCRC+2] ^= 0x10; return b }, ErrCorruptBatch, 0, "CRC"},
		{"flipped record byte", func() []byte { b := bytes.Clone(good); b[len(b)-3] ^= 1; return b }, ErrCorruptBatch, 0, "CRC"},
		{"flipped attribute bit", func() []byte { b := bytes.Clone(good); b[offAttributes+1] ^= attrTransactional; return b }, ErrCorruptBatch, 0, "CRC"},
		{"short length", func() []byte {
			b := bytes.Clone(good)
			put32(b, offLength, int32(len(b)-lengthPrefixSize-1))
			return b
		}, ErrCorruptBatch, 0, "CRC"},
		{"long length", func() []byte {
			b := bytes.Clone(good)
			put32(b, offLength, int32(len(b)-lengthPrefixSize+1))
			return b
		}, ErrTruncatedBatch, 0, "does not fit"},
		{"negative length", func() []byte { b := bytes.Clone(good); put32(b, offLength, -1); return b }, ErrCorruptBatch, 0, "below the minimum 14"},
		{"length below any message", func() []byte { b := bytes.Clone(good); put32(b, offLength, 13); return b }, ErrCorruptBatch, 0, "below the minimum 14"},
		{"length below any message, truncated", func() []byte { b := bytes.Clone(good); put32(b, offLength, 13); return b[:14] }, ErrCorruptBatch, 0, "below the minimum 14"},
		{"length below header", func() []byte { b := bytes.Clone(good); put32(b, offLength, 40); return b[:52] }, ErrCorruptBatch, 0, "below the minimum 49"},
		{"length below header, more after it", func() []byte { b := bytes.Clone(good); put32(b, offLength, 40); return b }, ErrCorruptBatch, 0, "below the minimum 49"},
		{"magic 0", func() []byte { b := bytes.Clone(good); b[offMagic] = 0; return b }, ErrUnsupportedMagic, 0, "magic 0"},
		{"magic 1", func() []byte { b := bytes.Clone(good); b[offMagic] = 1; return b }, ErrUnsupportedMagic, 0, "magic 1"},
		{"magic 1, CRC mismatch", func() []byte { b := bytes.Clone(good); b[offMagic] = 1; b[offCRC] ^= 1; return b }, ErrUnsupportedMagic, 0, "magic 1"},
		{"magic 3", func() []byte { b := bytes.Clone(good); b[offMagic] = 3; return b }, ErrCorruptBatch, 0, "magic 3 is no record format"},
		{"magic -1", func() []byte { b := bytes.Clone(good); b[offMagic] = 0xff; return b }, ErrCorruptBatch, 0, "magic -1 is no record format"},
		{"magic 3, truncated", func() []byte { b := bytes.Clone(good); b[offMagic] = 3; return b[:20] }, ErrCorruptBatch, 0, "magic 3"},
		{"legacy message set", legacyMessageSet, ErrUnsupportedMagic, 0, "magic 1"},
		{"legacy after good", func() []byte { return append(bytes.Clone(good), legacyMessageSet()...) }, ErrUnsupportedMagic, 0, "batch 1"},
		{"trailing garbage", func() []byte { return append(bytes.Clone(good), 1, 2, 3, 4, 5) }, ErrTruncatedBatch, 0, "batch 1"},
		{"trailing partial batch", func() []byte { return append(bytes.Clone(good), good[:70]...) }, ErrTruncatedBatch, 0, "batch 1 at byte"},
		{"trailing corrupt length", func() []byte {
			b := append(bytes.Clone(good), good[:20]...)
			put32(b, len(good)+offLength, 5)
			return b
		}, ErrCorruptBatch, 0, "batch 1 at byte"},
		{"unknown codec", func() []byte {
			b := bytes.Clone(good)
			b[offAttributes+1] |= 7
			recrc(b)
			return b
		}, ErrCorruptBatch, 0, "codec 7"},
		{"zero records", func() []byte { return assemble(withCount(0), nil) }, ErrInvalidRecord, 0, "record count 0"},
		{"count above records", func() []byte { return assemble(withCount(3), section(r0, r1)) }, ErrInvalidRecord, 0, "declares 3 records but holds 2"},
		{"count below records", func() []byte { return assemble(withCount(1), section(r0, r1)) }, ErrInvalidRecord, 0, "left over"},
		{"last offset delta off", func() []byte {
			h := withCount(2)
			h.LastOffsetDelta = 5
			return assemble(h, section(r0, r1))
		}, ErrInvalidRecord, 0, "last offset delta 5"},
		{"offset deltas not sequential", func() []byte { return assemble(withCount(2), section(r0, r0)) }, ErrInvalidRecord, 0, "offset delta 0, want 1"},
		{"record length too long", func() []byte {
			s := section(r0)
			s[0] += 2 // zigzag: +1
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "does not fit"},
		{"record length too short", func() []byte {
			s := append(section(r0), 0)
			s[0] += 2
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "left over inside"},
		{"varint overflow", func() []byte {
			s := []byte{0x14, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 1, 0}
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "overflows"},
		{"key length below -1", func() []byte {
			s := []byte{0x0c, 0, 0, 0, 0x05, 1, 0}
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "below -1"},
		{"null header key", func() []byte {
			s := []byte{0x10, 0, 0, 0, 1, 1, 2, 1, 1}
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "null key"},
		{"negative header count", func() []byte {
			s := []byte{0x0c, 0, 0, 0, 1, 1, 3}
			return assemble(withCount(1), s)
		}, ErrInvalidRecord, 0, "negative header count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.input()
			headers, err := ValidateBatches(input)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateBatches: %v", err)
				}
				if len(headers) != tt.batches {
					t.Fatalf("got %d headers, want %d", len(headers), tt.batches)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
			}
			if headers != nil {
				t.Fatalf("headers = %v on error", headers)
			}
		})
	}
}

func TestProtocolAppendValidBatchesNoAlloc(t *testing.T) {
	good := mustBuild(t, testHeader(), testRecords(), CodecNone)
	dst := make([]BatchHeader, 0, 1)
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = AppendValidBatches(dst[:0], good); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("AppendValidBatches allocates %v times per run", n)
	}
	bad := bytes.Clone(good)
	bad[offCRC] ^= 1
	dst = append(dst[:0], BatchHeader{BaseOffset: 9})
	out, err := AppendValidBatches(dst, append(bytes.Clone(good), bad...))
	if err == nil || len(out) != 1 || out[0].BaseOffset != 9 {
		t.Fatalf("on error got %v, %v; want dst unchanged", out, err)
	}
}

func TestProtocolRewriteHelpers(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := mustBuild(t, testHeader(), testRecords(), c)
			orig, _ := ParseBatchHeader(b)
			SetBaseOffset(b, 1<<40)
			SetPartitionLeaderEpoch(b, 17)
			hs, err := ValidateBatches(b)
			if err != nil {
				t.Fatalf("after SetBaseOffset/SetPartitionLeaderEpoch: %v", err)
			}
			want := orig
			want.BaseOffset, want.PartitionLeaderEpoch = 1<<40, 17
			if hs[0] != want {
				t.Fatalf("header\n got %+v\nwant %+v", hs[0], want)
			}

			const appendTime = 1_800_000_000_000
			SetLogAppendTime(b, appendTime)
			hs, err = ValidateBatches(b)
			if err != nil {
				t.Fatalf("after SetLogAppendTime: %v", err)
			}
			got := hs[0]
			if !got.LogAppendTime() || got.MaxTimestamp != appendTime || got.BaseTimestamp != orig.BaseTimestamp {
				t.Fatalf("after SetLogAppendTime: %+v", got)
			}
			if got.Attributes&^attrLogAppendTime != orig.Attributes || got.Compression() != c {
				t.Fatalf("attributes %#x, want %#x plus the timestamp type", got.Attributes, orig.Attributes)
			}
			// Stamping again with the same time changes nothing.
			again := bytes.Clone(b)
			SetLogAppendTime(again, appendTime)
			if !bytes.Equal(again, b) {
				t.Fatal("second SetLogAppendTime changed the batch")
			}
			if recs, err := ParseRecords(got, b, 1<<20); err != nil || len(recs) != 4 {
				t.Fatalf("ParseRecords after rewrites: %d records, %v", len(recs), err)
			}
		})
	}
}
