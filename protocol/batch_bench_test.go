package protocol

import (
	"fmt"
	"testing"
)

// benchBatch builds a batch of about size bytes made of records of about
// recordSize bytes each, as a producer's linger batch would be.
func benchBatch(b *testing.B, size, recordSize int, c Codec) []byte {
	b.Helper()
	payload := testPayload(recordSize - 8) // value plus ~8 bytes of framing
	n := (size - BatchHeaderSize) / recordSize
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{TimestampDelta: int64(i), Value: payload}
	}
	return mustBuild(b, testHeader(), recs, c)
}

// BenchmarkValidateBatches measures the produce hot path: validating a
// 16 KiB uncompressed batch of 100-byte records. "append" reuses the header
// slice and must not allocate; "new" allocates only the returned slice.
func BenchmarkValidateBatches(b *testing.B) {
	batch := benchBatch(b, 16<<10, 100, CodecNone)
	b.Run("append", func(b *testing.B) {
		dst := make([]BatchHeader, 0, 1)
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = AppendValidBatches(dst[:0], batch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ValidateBatches(batch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crc-only", func(b *testing.B) { // the floor: checksum alone
		b.SetBytes(int64(len(batch)))
		for b.Loop() {
			CRC32C(batch[offAttributes:])
		}
	})
}

// BenchmarkParseRecords measures decompressing and parsing a 16 KiB batch of
// 100-byte records with each codec; bytes are uncompressed batch bytes.
func BenchmarkParseRecords(b *testing.B) {
	raw := benchBatch(b, 16<<10, 100, CodecNone)
	for _, c := range allCodecs {
		batch := benchBatch(b, 16<<10, 100, c)
		h, err := ParseBatchHeader(batch)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.String(), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRecords(h, batch, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecompress measures Decompress alone on 1 MiB of text-like data.
func BenchmarkDecompress(b *testing.B) {
	src := testPayload(1 << 20)
	for _, c := range allCodecs[1:] {
		comp, err := Compress(c, src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s-ratio%.1f", c, float64(len(src))/float64(len(comp))), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decompress(c, comp, len(src)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
