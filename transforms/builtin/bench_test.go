package builtin_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffstream/skiff/transforms/builtin"
	"github.com/skiffstream/skiff/transforms/engine"
)

// benchValue is an event of about 300 bytes.
const benchValue = `{"id":184467440737095516,"type":"order.created","customer":{"id":"c-1029","name":"Ada Lovelace","country":"DE"},` +
	`"items":[{"sku":"A-1","qty":2,"price":9.99},{"sku":"B-7","qty":1,"price":24.5}],"payment":{"method":"card","status":"captured"}}`

// BenchmarkBuiltin runs batches of 500 records through each module, as
// WebAssembly and natively (as the broker runs built-ins), and reports
// records per second, the figure to hold against plain produce.
func BenchmarkBuiltin(b *testing.B) {
	for _, c := range []struct {
		module string
		params map[string]string
	}{
		{"jolt", map[string]string{"spec": `[{"operation":"shift","spec":{"id":"order.id","customer":{"id":"customer.id","country":"customer.country"},"items":{"*":{"sku":"order.skus[]"}}}},{"operation":"default","spec":{"source":"shop"}}]`}},
		{"json-filter", map[string]string{"field": "customer.country", "equals": "DE"}},
		{"regex-filter", map[string]string{"regex": `"country":"DE"`}},
	} {
		for _, way := range []string{"wasm", "native"} {
			b.Run(c.module+"/"+way, func(b *testing.B) {
				var r interface {
					ProcessBatch(context.Context, engine.Batch) ([]engine.Output, error)
				}
				var err error
				if way == "native" {
					r, err = builtin.NewNative(c.module, c.params)
				} else {
					e, _ := newEngine(b)
					var d *dualRunner
					d, err = start(b, e, c.module, c.params)
					if d != nil {
						r = d.wasm
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				var recs []record
				for i := range 500 {
					recs = append(recs, rec(fmt.Sprint(i), benchValue))
				}
				in := batch(recs...)
				b.SetBytes(int64(len(benchValue) * len(recs)))
				b.ResetTimer()
				for b.Loop() {
					outs, err := r.ProcessBatch(context.Background(), in)
					if err != nil || len(outs) != len(recs) {
						b.Fatalf("%d outputs, %v", len(outs), err)
					}
				}
				b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
