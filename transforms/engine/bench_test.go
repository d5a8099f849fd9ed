package engine

import (
	"context"
	"testing"

	"github.com/skiffstream/skiff/protocol"
)

// BenchmarkTransformsEngineEcho measures the engine's own cost per record:
// the hand-assembled chaos module echoes each record (a read_next_record
// and a write_record per record, no guest runtime), batches of 1000
// records with 60-byte values (the module's limit).
func BenchmarkTransformsEngineEcho(b *testing.B) {
	e := newTestEngine(b, Config{})
	r := newTestRunner(b, e, chaosModule(), RunnerConfig{OutputTopics: []string{"o"}})
	var in Batch
	for i := range 1000 {
		v := make([]byte, 60)
		v[0] = 'a'
		in.Records = append(in.Records, protocol.Record{OffsetDelta: int32(i), Value: v})
	}
	ctx := context.Background()
	b.SetBytes(60 * 1000)
	b.ReportAllocs()
	for b.Loop() {
		outs, err := r.ProcessBatch(ctx, in)
		if err != nil || len(outs) != 1000 {
			b.Fatal(len(outs), err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "records/s")
}
