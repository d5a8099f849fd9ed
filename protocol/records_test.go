package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestProtocolRecordsRoundTrip(t *testing.T) {
	want := testRecords()
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := mustBuild(t, testHeader(), want, c)
			hs, err := ValidateBatches(b)
			if err != nil {
				t.Fatalf("ValidateBatches: %v", err)
			}
			if hs[0].Compression() != c || hs[0].NumRecords != int32(len(want)) {
				t.Fatalf("header %+v", hs[0])
			}
			got, err := ParseRecords(hs[0], b, 1<<20)
			if err != nil {
				t.Fatalf("ParseRecords: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("records differ\n got %+v\nwant %+v", got, want)
			}
			// Null and empty must stay apart.
			if got[1].Key != nil || got[1].Value == nil || got[2].Key == nil || got[2].Value != nil {
				t.Fatal("null and empty keys or values were confused")
			}
		})
	}
}

func TestProtocolBuildBatch(t *testing.T) {
	h := testHeader()
	h.Attributes = attrTransactional | int16(CodecZstd) // the codec argument wins
	recs := []Record{{OffsetDelta: 7, Value: []byte("a")}, {OffsetDelta: 7, Value: []byte("b")}}
	b := mustBuild(t, h, recs, CodecNone)
	got, err := ValidateBatches(b)
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.Compression() != CodecNone || !g.Transactional() || g.LastOffsetDelta != 1 || g.NumRecords != 2 || g.ProducerID != h.ProducerID {
		t.Fatalf("header %+v", g)
	}
	parsed, _ := ParseRecords(got[0], b, 1<<20)
	if parsed[0].OffsetDelta != 0 || parsed[1].OffsetDelta != 1 {
		t.Fatalf("offset deltas %d, %d; want 0, 1", parsed[0].OffsetDelta, parsed[1].OffsetDelta)
	}
	if _, err := BuildBatch(h, nil, CodecNone); err == nil {
		t.Fatal("BuildBatch with no records succeeded")
	}
	if _, err := BuildBatch(h, recs, 5); err == nil {
		t.Fatal("BuildBatch with codec 5 succeeded")
	}
}

// TestProtocolAppendRecordBytes pins the wire form of a record against bytes
// worked out by hand from the Kafka documentation.
func TestProtocolAppendRecordBytes(t *testing.T) {
	r := Record{OffsetDelta: 1, TimestampDelta: -1, Key: nil, Value: []byte("hi"),
		Headers: []RecordHeader{{Key: "h", Value: nil}}}
	want := []byte{
		0x16,           // length 11, zigzag
		0x00,           // attributes
		0x01,           // timestamp delta -1
		0x02,           // offset delta 1
		0x01,           // key: null (-1)
		0x04, 'h', 'i', // value: length 2
		0x02,      // one header
		0x02, 'h', // header key "h"
		0x01, // header value: null
	}
	if got := AppendRecord(nil, r); !bytes.Equal(got, want) {
		t.Fatalf("AppendRecord = % x, want % x", got, want)
	}
}

func TestProtocolParseRecordsErrors(t *testing.T) {
	good := mustBuild(t, testHeader(), testRecords(), CodecNone)
	hdr, _ := ParseBatchHeader(good)
	gz := mustBuild(t, testHeader(), testRecords(), CodecGzip)
	gzHdr, _ := ParseBatchHeader(gz)

	tests := []struct {
		name  string
		h     func() BatchHeader
		batch []byte
		limit int
		want  error
		msg   string
	}{
		{"magic 1", func() BatchHeader { h := hdr; h.Magic = 1; return h }, good, 1 << 20, ErrUnsupportedMagic, "magic 1"},
		{"batch shorter than header says", func() BatchHeader { return hdr }, good[:len(good)-1], 1 << 20, ErrCorruptBatch, "does not fit"},
		{"length below header", func() BatchHeader { h := hdr; h.Length = 10; return h }, good, 1 << 20, ErrCorruptBatch, "does not fit"},
		{"more records claimed", func() BatchHeader { h := hdr; h.NumRecords++; return h }, good, 1 << 20, ErrInvalidRecord, "declares 5 records but holds 4"},
		{"fewer records claimed", func() BatchHeader { h := hdr; h.NumRecords--; return h }, good, 1 << 20, ErrInvalidRecord, "left over"},
		{"negative count", func() BatchHeader { h := hdr; h.NumRecords = -1; return h }, good, 1 << 20, ErrInvalidRecord, "negative"},
		{"huge count", func() BatchHeader { h := hdr; h.NumRecords = 1 << 30; return h }, good, 1 << 20, ErrInvalidRecord, "but holds 4"},
		{"gzip over limit", func() BatchHeader { return gzHdr }, gz, 100, ErrDecompressLimit, "100 bytes"},
		{"wrong codec", func() BatchHeader { h := hdr; h.Attributes |= int16(CodecSnappy); return h }, good, 1 << 20, ErrCorruptBatch, "snappy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := ParseRecords(tt.h(), tt.batch, tt.limit)
			if !errors.Is(err, tt.want) || recs != nil {
				t.Fatalf("got %d records, err %v; want %v", len(recs), err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func ExampleBuildBatch() {
	h := BatchHeader{BaseTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_005, ProducerID: -1, BaseSequence: -1}
	records := []Record{
		{Key: []byte("user-1"), Value: []byte(`{"clicks":3}`)},
		{TimestampDelta: 5, Key: []byte("user-2"), Value: nil}, // a tombstone
	}
	batch, err := BuildBatch(h, records, CodecZstd)
	if err != nil {
		panic(err)
	}
	headers, err := ValidateBatches(batch)
	if err != nil {
		panic(err)
	}
	SetBaseOffset(batch, 1000) // the broker assigns offsets in place
	parsed, err := ParseRecords(headers[0], batch, 1<<20)
	if err != nil {
		panic(err)
	}
	for _, r := range parsed {
		fmt.Printf("offset %d key %s value %q null=%v\n", 1000+int64(r.OffsetDelta), r.Key, r.Value, r.Value == nil)
	}
	// Output:
	// offset 1000 key user-1 value "{\"clicks\":3}" null=false
	// offset 1001 key user-2 value "" null=true
}

func TestProtocolBuildSparseBatch(t *testing.T) {
	h := testHeader()
	recs := []Record{{OffsetDelta: 1, Value: []byte("a")}, {OffsetDelta: 3, Value: []byte("b")}}
	for _, c := range []Codec{CodecNone, CodecLZ4} {
		b, err := BuildSparseBatch(h, recs, c, 5)
		if err != nil {
			t.Fatal(err)
		}
		// ValidateBatches would refuse it (a producer's batch is dense);
		// consumers take it.
		g, err := ParseBatchHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		got := []BatchHeader{g}
		if g.LastOffsetDelta != 5 || g.NumRecords != 2 || g.Compression() != c {
			t.Fatalf("header %+v", g)
		}
		parsed, err := ParseRecords(got[0], b, 1<<20)
		if err != nil || len(parsed) != 2 || parsed[0].OffsetDelta != 1 || parsed[1].OffsetDelta != 3 {
			t.Fatalf("records %+v, %v", parsed, err)
		}
	}
	empty, err := BuildSparseBatch(h, nil, CodecZstd, 9)
	if err != nil {
		t.Fatal(err)
	}
	eh, err := ParseBatchHeader(empty)
	if err != nil || eh.NumRecords != 0 || eh.LastOffsetDelta != 9 || eh.Compression() != CodecNone || eh.TotalSize() != len(empty) {
		t.Fatalf("empty batch %+v, %v", eh, err)
	}
	if CRC32C(empty[offAttributes:]) != eh.CRC {
		t.Fatal("empty batch CRC")
	}
	for _, bad := range [][]Record{{{OffsetDelta: 2}, {OffsetDelta: 2}}, {{OffsetDelta: 6}}} {
		if _, err := BuildSparseBatch(h, bad, CodecNone, 5); err == nil {
			t.Fatalf("BuildSparseBatch(%+v) succeeded", bad)
		}
	}
}
