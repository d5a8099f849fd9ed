package transforms_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
)

// benchBatch is 1000 records with 100-byte values (JSON objects), 16-byte
// keys and no headers; every other value contains "ERROR".
func benchBatch() engine.Batch {
	b := engine.Batch{Header: protocol.BatchHeader{BaseOffset: 0, BaseTimestamp: 1e12}}
	for i := range 1000 {
		level := "INFO "
		if i%2 == 0 {
			level = "ERROR"
		}
		v := fmt.Sprintf(`{"id":%6d,"level":"%s","host":"h%02d","msg":"`, i, level, i%10)
		v += strings.Repeat("x", 100-len(v)-2) + `"}`
		b.Records = append(b.Records, protocol.Record{
			OffsetDelta: int32(i), TimestampDelta: int64(i),
			Key: fmt.Appendf(nil, "key-%012d", i), Value: []byte(v),
		})
	}
	return b
}

// benchModule measures records per second through a module, one batch of
// 1000 records per iteration.
func benchModule(b *testing.B, name string, wasm []byte, env map[string]string, wantOut int) {
	e := newEngine(b, engine.Config{})
	r := newRunner(b, e, name, wasm, engine.RunnerConfig{Env: env})
	in := benchBatch()
	if len(in.Records[0].Value) != 100 {
		b.Fatalf("value of %d bytes", len(in.Records[0].Value))
	}
	ctx := context.Background()
	b.SetBytes(100 * int64(len(in.Records)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		outs, err := r.ProcessBatch(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if len(outs) != wantOut {
			b.Fatalf("%d outputs, want %d", len(outs), wantOut)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(in.Records))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkTransformsFilter: regex-filter keeping half the records.
func BenchmarkTransformsFilter(b *testing.B) {
	benchModule(b, "regex-filter", example(b, "regex-filter"), map[string]string{"regex": `"level":"ERROR"`}, 500)
}

// BenchmarkTransformsRustFilter: the same filter built with Redpanda's Rust
// SDK (testdata/redpanda-rust), the same regex and records, to compare a
// Rust module with a Go one in the engine.
func BenchmarkTransformsRustFilter(b *testing.B) {
	benchModule(b, "rust-regex-filter", rustModule(b, "regex-filter"), map[string]string{"regex": `"level":"ERROR"`}, 500)
}

// BenchmarkTransformsMap: json-projection decoding each value and encoding
// two of its fields.
func BenchmarkTransformsMap(b *testing.B) {
	benchModule(b, "json-projection", example(b, "json-projection"), map[string]string{"fields": "id,level"}, 1000)
}

// BenchmarkTransformsMapBytes: a map without JSON (upper-casing the value,
// the filter-map test module), to show the engine's own cost per record.
func BenchmarkTransformsMapBytes(b *testing.B) {
	benchModule(b, "filter-map", testModule(b, "filter-map"), nil, 1000)
}

// BenchmarkTransformsRedpandaIdentity: the identity transform built with
// Redpanda's Go SDK.
func BenchmarkTransformsRedpandaIdentity(b *testing.B) {
	benchModule(b, "redpanda-identity", redpandaModule(b, "."), nil, 1000)
}
