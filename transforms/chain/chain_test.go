package chain_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// TestChainFilterThenMap: a filter's outputs feed a map; every output
// names its original record and keeps its key, headers and deltas.
func TestChainFilterThenMap(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, `
transforms:
  - uses: regex-filter
    with: {regex: '"level":"ERROR"'}
  - uses: json-projection
    with: {fields: "id, msg"}
`)
	in := batch(
		`{"id":1,"level":"INFO","msg":"a"}`,
		`{"id":2,"level":"ERROR","msg":"b","host":"h"}`,
		`{"id":3,"level":"INFO","msg":"c"}`,
		`{"id":4,"level":"ERROR","msg":"d"}`,
		`{"id":5,"level":"ERROR"}`,
	)
	res, err := c.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valuesOf(res.Outputs), []string{`{"id":2,"msg":"b"}`, `{"id":4,"msg":"d"}`, `{"id":5}`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
	if got, want := inputsOf(res.Outputs), []int{1, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inputs %v, want %v", got, want)
	}
	for _, o := range res.Outputs {
		r := in.Records[o.Input]
		if o.Topic != 0 || string(o.Record.Key) != string(r.Key) || !reflect.DeepEqual(o.Record.Headers, r.Headers) ||
			o.Record.OffsetDelta != r.OffsetDelta || o.Record.TimestampDelta != r.TimestampDelta {
			t.Errorf("output %+v does not keep input %d %+v", o, o.Input, r)
		}
	}
	if res.Skipped != 0 || len(res.DeadLetters) != 0 {
		t.Errorf("skipped %d, dead letters %v", res.Skipped, res.DeadLetters)
	}

	st := c.Stats()
	if len(st) != 2 {
		t.Fatalf("%d step stats", len(st))
	}
	if s := st[0]; s.Module != "regex-filter" || s.Uses != "regex-filter" || s.RecordsIn != 5 || s.RecordsOut != 3 || s.Dropped != 2 || s.Errors != 0 || s.BytesIn <= s.BytesOut || s.BytesOut == 0 || s.Time <= 0 {
		t.Errorf("step 1 stats %+v", s)
	}
	if s := st[1]; s.Module != "json-projection" || s.Step != 1 || s.RecordsIn != 3 || s.RecordsOut != 3 || s.Dropped != 0 || s.BytesIn != st[0].BytesOut {
		t.Errorf("step 2 stats %+v", s)
	}

	// A batch the filter empties does not reach the map.
	if res, err := c.Process(context.Background(), batch(`{"level":"INFO"}`)); err != nil || len(res.Outputs) != 0 {
		t.Fatalf("all filtered: %+v, %v", res, err)
	}
	if s := c.Stats()[1]; s.RecordsIn != 3 {
		t.Errorf("the map saw %d records, want still 3", s.RecordsIn)
	}
	// An empty batch is nothing.
	if res, err := c.Process(context.Background(), engine.Batch{}); err != nil || len(res.Outputs) != 0 {
		t.Fatalf("empty batch: %+v, %v", res, err)
	}
}

// TestChainFanOut: an array-map's outputs are several records per input;
// the next step's outputs map back through it to the original records.
func TestChainFanOut(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, `
transforms:
  - uses: word-split
  - uses: filter-map
`)
	in := batch("alpha beta", "", "gamma", "delta epsilon zeta")
	res, err := c.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valuesOf(res.Outputs), []string{"ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
	if got, want := inputsOf(res.Outputs), []int{0, 0, 2, 3, 3, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inputs %v, want %v", got, want)
	}
	for _, o := range res.Outputs {
		if o.Record.OffsetDelta != in.Records[o.Input].OffsetDelta || o.Record.TimestampDelta != in.Records[o.Input].TimestampDelta {
			t.Errorf("output %+v lost the deltas of input %d", o, o.Input)
		}
	}
	if st := c.Stats(); st[0].RecordsOut != 6 || st[0].Dropped != 1 || st[1].RecordsIn != 6 {
		t.Errorf("stats %+v", st)
	}
	if c.MaxOutputsPerInput() != -1 {
		t.Errorf("an array-map chain writes at most %d per input", c.MaxOutputsPerInput())
	}
}

// TestChainModulesSeeOriginalRecords: a module after a filter sees the
// original offsets and timestamps, the chain's topics and its own
// parameters; it writes to every output topic, and Topic says which.
func TestChainModulesSeeOriginalRecords(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{InputTopic: "raw", OutputTopics: []string{"first", "second"}}, `
transforms:
  - uses: regex-filter
    with: {regex: keep}
  - uses: params
    with: {mode: report, nested: {a: [1]}}
`)
	in := batch("drop", "keep 1", "drop", "keep 2")
	res, err := c.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inputsOf(res.Outputs), []int{1, 1, 3, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inputs %v, want %v", got, want)
	}
	for i, o := range res.Outputs {
		var rep struct {
			Params    map[string]string
			Input     string
			Outputs   []string
			Offset    int64
			Timestamp int64
		}
		if err := json.Unmarshal(o.Record.Value, &rep); err != nil {
			t.Fatal(err)
		}
		r := in.Records[o.Input]
		if o.Topic != i%2 || rep.Input != "raw" || !reflect.DeepEqual(rep.Outputs, []string{"first", "second"}) ||
			rep.Offset != in.Header.BaseOffset+int64(r.OffsetDelta) || rep.Timestamp != in.Header.BaseTimestamp+r.TimestampDelta ||
			rep.Params["mode"] != "report" || rep.Params["nested"] != `{"a":[1]}` || rep.Params["regex"] != "" {
			t.Errorf("output %d (topic %d): %+v", i, o.Topic, rep)
		}
	}
}

// TestChainAggregateState: an aggregate's state lives across batches, and
// a filter before it decides what it counts.
func TestChainAggregateState(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, `
transforms:
  - uses: regex-filter
    with: {regex: "^count"}
  - uses: running-count
    with: {start: "10"}
`)
	ctx := context.Background()
	res, err := c.Process(ctx, batch("count a", "skip", "count b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(res.Outputs); !reflect.DeepEqual(got, []string{"11", "12"}) {
		t.Fatalf("first batch %q", got)
	}
	res, err = c.Process(ctx, batch("skip", "count c", "count d", "count e"))
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(res.Outputs); !reflect.DeepEqual(got, []string{"13", "14", "15"}) {
		t.Fatalf("second batch %q", got)
	}
	if got := inputsOf(res.Outputs); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Fatalf("second batch inputs %v", got)
	}
}

// TestChainWarm: replayed records build an aggregate's state but are
// neither returned nor counted.
func TestChainWarm(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, `
transforms:
  - uses: running-count
    lookback: {last: 3}
`)
	ctx := context.Background()
	if err := c.Warm(ctx, []engine.Batch{batch("a", "b"), batch("c")}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Process(ctx, batch("d"))
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(res.Outputs); !reflect.DeepEqual(got, []string{"4"}) {
		t.Fatalf("after warming with 3 records: %q", got)
	}
	if s := c.Stats()[0]; s.RecordsIn != 1 || s.RecordsOut != 1 {
		t.Errorf("stats count replayed records: %+v", s)
	}

	// Warm fails as Process does.
	bad := newChain(t, e, chain.Config{}, "transforms:\n  - uses: hostile\n")
	err = bad.Warm(ctx, []engine.Batch{batch("ok", "panic")})
	var be *engine.BatchError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "replay lookback records") || !strings.Contains(err.Error(), "offset 1001") {
		t.Errorf("warm with a failing record: %v", err)
	}
}

// TestChainNewErrors: errors of New name the step and say what is wrong.
func TestChainNewErrors(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	cfg := chain.Config{Engine: e, Resolve: resolver(t), InputTopic: "in", OutputTopics: []string{"out"}}
	cases := []struct {
		yml  string
		cfg  func(chain.Config) chain.Config
		want []string
	}{
		{"transforms:\n  - uses: word-split\n  - uses: nowhere@1.0\n", nil,
			[]string{"transforms step 2 (uses nowhere@1.0)", `no module "nowhere@1.0"`}},
		{"transforms:\n  - uses: regex-filter\n", nil,
			[]string{"transforms step 1 (uses regex-filter)", "`regex` parameter is required"}},
		{"transforms:\n  - uses: regex-filter\n    with: {regex: \"(\"}\n", nil,
			[]string{"step 1", "missing closing )"}},
		{"transforms:\n  - uses: word-split\n", func(c chain.Config) chain.Config { c.OutputTopics = nil; return c },
			[]string{"no output topic"}},
		{"transforms:\n  - uses: word-split\n", func(c chain.Config) chain.Config { c.Resolve = nil; return c },
			[]string{"no module resolver"}},
		{"transforms:\n  - uses: word-split\n", func(c chain.Config) chain.Config {
			c.Policy = chain.Policy{Action: chain.DeadLetter}
			return c
		}, []string{"dead-letter topic"}},
	}
	for _, tc := range cases {
		spec, err := chain.ParseSpec([]byte(tc.yml))
		if err != nil {
			t.Fatal(err)
		}
		cf := cfg
		if tc.cfg != nil {
			cf = tc.cfg(cfg)
		}
		c, err := chain.New(ctx, cf, spec)
		if err == nil {
			c.Close()
			t.Errorf("%q: no error", tc.yml)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tc.yml, err, w)
			}
		}
	}
	if _, err := chain.New(ctx, cfg, &chain.Spec{}); err == nil || !strings.Contains(err.Error(), "no steps") {
		t.Errorf("empty spec: %v", err)
	}
}

// TestChainClosed: a closed chain fails batches under every policy.
func TestChainClosed(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{Policy: chain.Policy{Action: chain.Skip}}, "transforms:\n  - uses: word-split\n")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Process(context.Background(), batch("a b"))
	var se *chain.StepError
	if !errors.Is(err, engine.ErrClosed) || !errors.As(err, &se) || se.Input != -1 {
		t.Fatalf("process after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
