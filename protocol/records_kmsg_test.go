package protocol

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"io"
	"reflect"
	"testing"

	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These tests cross-check the batch codec against franz-go's kmsg, an
// independent implementation used by a production Kafka client. Compression
// on the kmsg side goes through other encoders and decoders than
// Compress/Decompress: stdlib gzip, xerial-framed snappy as the Java client
// writes it, pierrec's default LZ4 frame and a streaming zstd frame.

func toKmsgRecords(recs []Record) []kmsg.Record {
	out := make([]kmsg.Record, len(recs))
	for i, r := range recs {
		kr := kmsg.Record{Attributes: r.Attributes, TimestampDelta: int32(r.TimestampDelta), TimestampDelta64: r.TimestampDelta, OffsetDelta: r.OffsetDelta, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // encoded with a one-byte zero length
		out[i] = kr
	}
	return out
}

func kmsgCompress(t *testing.T, c Codec, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch c {
	case CodecNone:
		return raw
	case CodecSnappy:
		return xerial.Encode(nil, raw)
	case CodecGzip:
		w = stdgzip.NewWriter(&buf)
	case CodecLZ4:
		w = lz4.NewWriter(&buf)
	case CodecZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func kmsgDecompress(t *testing.T, c Codec, data []byte) []byte {
	t.Helper()
	var (
		r   io.Reader
		err error
	)
	switch c {
	case CodecNone:
		return data
	case CodecSnappy:
		out, err := xerial.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case CodecGzip:
		r, err = stdgzip.NewReader(bytes.NewReader(data))
	case CodecLZ4:
		r = lz4.NewReader(bytes.NewReader(data))
	case CodecZstd:
		var zr *zstd.Decoder
		zr, err = zstd.NewReader(bytes.NewReader(data))
		r = zr
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return out
}

// TestProtocolKmsgEncodedBatches validates and parses batches that kmsg
// encodes.
func TestProtocolKmsgEncodedBatches(t *testing.T) {
	want := testRecords()
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			var raw []byte
			for _, kr := range toKmsgRecords(want) {
				raw = kr.AppendTo(raw)
			}
			h := testHeader()
			rb := kmsg.RecordBatch{
				FirstOffset: 0, PartitionLeaderEpoch: h.PartitionLeaderEpoch, Magic: 2,
				Attributes: int16(c), LastOffsetDelta: int32(len(want) - 1),
				FirstTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp,
				ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, FirstSequence: h.BaseSequence,
				NumRecords: int32(len(want)), Records: kmsgCompress(t, c, raw),
			}
			rb.Length = int32(49 + len(rb.Records))
			b := rb.AppendTo(nil)
			rb.CRC = int32(CRC32C(b[21:]))
			b = rb.AppendTo(nil)

			hs, err := ValidateBatches(b)
			if err != nil {
				t.Fatalf("ValidateBatches: %v", err)
			}
			got, err := ParseRecords(hs[0], b, 1<<20)
			if err != nil {
				t.Fatalf("ParseRecords: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("records differ\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestProtocolKmsgDecodesBuiltBatches decodes BuildBatch output with kmsg.
func TestProtocolKmsgDecodesBuiltBatches(t *testing.T) {
	recs := testRecords()
	want := toKmsgRecords(recs)
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			h := testHeader()
			h.BaseOffset = 5000
			b := mustBuild(t, h, recs, c)
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(b); err != nil {
				t.Fatalf("kmsg ReadFrom: %v", err)
			}
			if rb.FirstOffset != 5000 || rb.Magic != 2 || int(rb.Length) != len(b)-12 ||
				rb.Attributes != int16(c) || rb.LastOffsetDelta != 3 || rb.NumRecords != 4 ||
				rb.FirstTimestamp != h.BaseTimestamp || rb.MaxTimestamp != h.MaxTimestamp ||
				rb.ProducerID != h.ProducerID || rb.ProducerEpoch != h.ProducerEpoch ||
				rb.FirstSequence != h.BaseSequence || rb.PartitionLeaderEpoch != h.PartitionLeaderEpoch {
				t.Fatalf("kmsg sees header %+v", rb)
			}
			if uint32(rb.CRC) != CRC32C(rb.AppendTo(nil)[21:]) {
				t.Fatal("CRC does not match what kmsg re-encodes")
			}
			raw := kmsgDecompress(t, c, rb.Records)
			var got []kmsg.Record
			for len(raw) > 0 {
				l, n := binary.Varint(raw)
				if n <= 0 || int(l)+n > len(raw) {
					t.Fatalf("bad record length at %d", len(got))
				}
				var kr kmsg.Record
				if err := kr.ReadFrom(raw[:n+int(l)]); err != nil {
					t.Fatalf("kmsg Record.ReadFrom: %v", err)
				}
				if len(kr.Headers) == 0 {
					kr.Headers = nil
				}
				got = append(got, kr)
				raw = raw[n+int(l):]
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("kmsg records differ\n got %+v\nwant %+v", got, want)
			}
		})
	}
}
