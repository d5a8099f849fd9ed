package jolt

import (
	"encoding/json"
	"testing"
)

// benchRecord is an event of about 600 bytes, as a connector writes them.
const benchRecord = `{"id":184467440737095516,"type":"order.created","time":"2025-03-01T12:00:00Z",` +
	`"customer":{"id":"c-1029","name":"Ada Lovelace","email":"ada@example.com","country":"GB","tier":"gold"},` +
	`"items":[{"sku":"A-1","qty":2,"price":9.99},{"sku":"B-7","qty":1,"price":24.5},{"sku":"C-3","qty":5,"price":1.25}],` +
	`"shipping":{"method":"express","address":{"street":"12 St James's Square","city":"London","zip":"SW1Y 4JH"}},` +
	`"payment":{"method":"card","last4":"4242","status":"captured"},"tags":["web","promo-spring"],"debug":{"trace":"a1b2c3","span":7}}`

const benchSpec = `[
	{"operation": "shift", "spec": {
		"id": "order.id", "time": "order.time",
		"customer": {"id": "customer.id", "country": "customer.country"},
		"items": {"*": {"sku": "order.lines[&1].sku", "qty": "order.lines[&1].qty"}},
		"shipping": {"method": "order.shipping", "address": {"city": "customer.city"}},
		"payment": {"status": "order.paid"},
		"tags": "tags"}},
	{"operation": "default", "spec": {"order": {"currency": "EUR"}, "source": "shop"}},
	{"operation": "remove", "spec": {"tags": ""}}
]`

// BenchmarkJoltApply is the work of the jolt module per record: parse,
// shift/default/remove, encode.
func BenchmarkJoltApply(b *testing.B) {
	tr, err := Parse([]byte(benchSpec))
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(benchRecord)
	var out []byte
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if out, err = tr.AppendApply(out[:0], in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoltParseJSON against encoding/json decoding the same record
// into an any, the usual alternative.
func BenchmarkJoltParseJSON(b *testing.B) {
	in := []byte(benchRecord)
	b.Run("jolt", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(in, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestJoltBenchSpec(t *testing.T) {
	tr, err := Parse([]byte(benchSpec))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply([]byte(benchRecord))
	want := `{"order":{"id":184467440737095516,"time":"2025-03-01T12:00:00Z","lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1},{"sku":"C-3","qty":5}],"shipping":"express","paid":"captured","currency":"EUR"},` +
		`"customer":{"id":"c-1029","country":"GB","city":"London"},"source":"shop"}`
	if err != nil || string(out) != want {
		t.Fatalf("got %s, %v\nwant %s", out, err, want)
	}
}
