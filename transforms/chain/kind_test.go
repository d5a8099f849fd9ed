package chain_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// fresh returns wasm with a custom section named after the test, so its
// hash, and with it the probe cache's key, is new.
func fresh(t testing.TB, wasm []byte) []byte {
	name := "skiff-test:" + t.Name()
	content := append([]byte{byte(len(name))}, name...)
	content = append(content, "payload"...) // wazero refuses an empty one
	out := append([]byte{}, wasm...)
	out = append(out, 0, byte(len(content)))
	return append(out, content...)
}

func TestChainKindProbe(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()

	// A module answering in the SDK's format, whatever the SDK does today.
	if k, err := chain.Describe(ctx, e, "kind-map", modules["kind-map"](t)); err != nil || k != chain.KindMap {
		t.Errorf("kind-map: %q, %v", k, err)
	}
	// A Redpanda SDK module asks for records instead: unknown kind.
	if k, err := chain.Describe(ctx, e, "redpanda", modules["redpanda"](t)); err != nil || k != chain.KindUnknown {
		t.Errorf("redpanda-identity: %q, %v", k, err)
	}

	// The answer is cached by module hash: a second probe does not run
	// the module (whose answer here depends on a parameter). No other test
	// probes kind-param.
	wasm := modules["kind-param"](t)
	if k, err := chain.DescribeParams(ctx, e, "kind-param", wasm, map[string]string{"KIND": "array-map"}); err != nil || k != chain.KindArrayMap {
		t.Errorf("kind-param: %q, %v", k, err)
	}
	if k, err := chain.DescribeParams(ctx, e, "kind-param", wasm, map[string]string{"KIND": "filter"}); err != nil || k != chain.KindArrayMap {
		t.Errorf("kind-param again: %q, %v; want the cached array-map", k, err)
	}

	// A module that needs parameters to start fails the probe without
	// them, with its own words; that failure is not cached. (Other tests
	// probe regex-filter with its parameter: a copy with another hash
	// makes sure this probe runs.)
	rf := fresh(t, modules["regex-filter"](t))
	_, err := chain.Describe(ctx, e, "regex-filter", rf)
	if !errors.Is(err, engine.ErrModuleFailed) || !strings.Contains(err.Error(), "`regex` parameter is required") || !strings.Contains(err.Error(), "learn the kind of module regex-filter") {
		t.Errorf("regex-filter without regex: %v", err)
	}
	want := chain.KindUnknown
	if sdkDescribes(t) {
		want = chain.KindFilter
	}
	if k, err := chain.DescribeParams(ctx, e, "regex-filter", rf, map[string]string{"regex": "x"}); err != nil || k != want {
		t.Errorf("regex-filter: %q, %v; want %q", k, err, want)
	}
	if _, err := chain.Describe(ctx, e, "garbage", []byte("not wasm")); err == nil {
		t.Error("garbage: no error")
	}
}

// TestChainKindsOfExamples: once the SDK answers the probe, each example
// reports its kind; until then each is unknown.
func TestChainKindsOfExamples(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	describes := sdkDescribes(t)
	cases := []struct {
		name   string
		params map[string]string
		want   chain.Kind
	}{
		{"regex-filter", map[string]string{"regex": "x"}, chain.KindFilter},
		{"json-projection", map[string]string{"fields": "a"}, chain.KindMap},
		{"filter-map", nil, chain.KindFilterMap},
		{"word-split", nil, chain.KindArrayMap},
		{"running-count", nil, chain.KindAggregate},
		{"hostile", nil, chain.KindProcess},
	}
	for _, c := range cases {
		want := chain.KindUnknown
		if describes {
			want = c.want
		}
		k, err := chain.DescribeParams(ctx, e, c.name, modules[c.name](t), c.params)
		if err != nil || k != want {
			t.Errorf("%s: %q, %v; want %q (SDK answers the probe: %v)", c.name, k, err, want, describes)
		}
	}
}

func TestChainKinds(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, "transforms:\n  - uses: kind-map\n  - uses: kind-map\n")
	if got := c.Kinds(); !reflect.DeepEqual(got, []chain.Kind{chain.KindMap, chain.KindMap}) {
		t.Errorf("kinds %q", got)
	}
	if n := c.MaxOutputsPerInput(); n != 1 {
		t.Errorf("two maps write at most %d per input, want 1", n)
	}
	res, err := c.Process(context.Background(), batch("x"))
	if err != nil || !reflect.DeepEqual(valuesOf(res.Outputs), []string{"X"}) {
		t.Fatalf("%+v, %v", res, err)
	}
	if st := c.Stats(); st[0].Kind != chain.KindMap || st[1].Kind != chain.KindMap {
		t.Errorf("stats %+v", st)
	}

	c = newChain(t, e, chain.Config{}, "transforms:\n  - uses: kind-map\n  - uses: redpanda\n")
	if got := c.Kinds(); !reflect.DeepEqual(got, []chain.Kind{chain.KindMap, chain.KindUnknown}) {
		t.Errorf("kinds %q", got)
	}
	if n := c.MaxOutputsPerInput(); n != -1 {
		t.Errorf("a chain with a module of unknown kind writes at most %d per input, want -1", n)
	}
	res, err = c.Process(context.Background(), batch("y"))
	if err != nil || !reflect.DeepEqual(valuesOf(res.Outputs), []string{"Y"}) {
		t.Fatalf("%+v, %v", res, err)
	}
}

func TestChainKindBounds(t *testing.T) {
	cases := []struct {
		kind      chain.Kind
		max       int
		stateless bool
		name      string
	}{
		{chain.KindFilter, 1, true, "filter"},
		{chain.KindMap, 1, true, "map"},
		{chain.KindFilterMap, 1, true, "filter-map"},
		{chain.KindArrayMap, -1, true, "array-map"},
		{chain.KindAggregate, 1, false, "aggregate"},
		{chain.KindProcess, -1, false, "process"},
		{chain.KindUnknown, -1, false, "unknown"},
	}
	for _, c := range cases {
		if c.kind.MaxOutputsPerInput() != c.max || c.kind.Stateless() != c.stateless || c.kind.String() != c.name {
			t.Errorf("%q: max %d, stateless %v, name %q", c.kind, c.kind.MaxOutputsPerInput(), c.kind.Stateless(), c.kind.String())
		}
	}
}
