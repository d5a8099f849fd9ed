package chain_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// benchBatch is 1000 records with 100-byte JSON values and 16-byte keys,
// as transforms' benchmarks use; every other value has "level":"ERROR".
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

const benchRegex = `"level":"ERROR"`

// BenchmarkChainFilter: a one-step chain of regex-filter keeping half the
// records, one batch of 1000 per iteration. Compare with
// BenchmarkChainBareRunnerFilter for the chain's own cost.
func BenchmarkChainFilter(b *testing.B) {
	e := newEngine(b)
	c := newChain(b, e, chain.Config{}, "transforms:\n  - uses: regex-filter\n    with: {regex: '"+benchRegex+"'}\n")
	benchLoop(b, func(ctx context.Context, in engine.Batch) (int, error) {
		res, err := c.Process(ctx, in)
		if err != nil {
			return 0, err
		}
		return len(res.Outputs), nil
	}, 500)
}

// BenchmarkChainBareRunnerFilter: the same module and batch through the
// engine's runner alone.
func BenchmarkChainBareRunnerFilter(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	m, err := e.Load(ctx, "regex-filter", modules["regex-filter"](b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(ctx) })
	r, err := m.NewRunner(ctx, engine.RunnerConfig{Env: map[string]string{"regex": benchRegex}, InputTopic: "in", OutputTopics: []string{"out"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	benchLoop(b, func(ctx context.Context, in engine.Batch) (int, error) {
		outs, err := r.ProcessBatch(ctx, in)
		return len(outs), err
	}, 500)
}

// BenchmarkChainFilterThenMap: regex-filter then filter-map (upper-casing
// each value, no JSON), so the figure shows a second step's cost rather
// than a JSON library's.
func BenchmarkChainFilterThenMap(b *testing.B) {
	e := newEngine(b)
	c := newChain(b, e, chain.Config{}, "transforms:\n  - uses: regex-filter\n    with: {regex: '"+benchRegex+"'}\n  - uses: filter-map\n")
	benchLoop(b, func(ctx context.Context, in engine.Batch) (int, error) {
		res, err := c.Process(ctx, in)
		if err != nil {
			return 0, err
		}
		return len(res.Outputs), nil
	}, 500)
}

func benchLoop(b *testing.B, process func(context.Context, engine.Batch) (int, error), wantOut int) {
	in := benchBatch()
	ctx := context.Background()
	b.SetBytes(100 * int64(len(in.Records)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := process(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if n != wantOut {
			b.Fatalf("%d outputs, want %d", n, wantOut)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(in.Records))/b.Elapsed().Seconds(), "records/s")
}
