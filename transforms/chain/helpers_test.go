package chain_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/wasmbuild"
)

// buildModule builds the main package pkg of the Go module in dir (relative
// to this package) with GOOS=wasip1 GOARCH=wasm, once per run.
func buildModule(t testing.TB, dir, pkg string) []byte {
	t.Helper()
	return wasmbuild.Build(t, filepath.Join("transforms/chain", dir), pkg)
}

// modules are the modules tests use by `uses:` name: the examples, the
// transforms package's test modules and this package's.
var modules = map[string]func(t testing.TB) []byte{
	"regex-filter":    func(t testing.TB) []byte { return buildModule(t, ".", "../examples/regex-filter") },
	"json-projection": func(t testing.TB) []byte { return buildModule(t, ".", "../examples/json-projection") },
	"running-count":   func(t testing.TB) []byte { return buildModule(t, ".", "../examples/running-count") },
	"word-split":      func(t testing.TB) []byte { return buildModule(t, ".", "../examples/word-split") },
	"filter-map":      func(t testing.TB) []byte { return buildModule(t, ".", "../testdata/filter-map") },
	"hostile":         func(t testing.TB) []byte { return buildModule(t, ".", "../testdata/hostile") },
	"params":          func(t testing.TB) []byte { return buildModule(t, ".", "../testdata/params") },
	"redpanda":        func(t testing.TB) []byte { return buildModule(t, "../testdata/redpanda-identity", ".") },
	"kind-map":        func(t testing.TB) []byte { return buildModule(t, ".", "./testdata/kind-map") },
	"kind-param":      func(t testing.TB) []byte { return buildModule(t, ".", "./testdata/kind-param") },
}

// resolver resolves `uses:` names to the modules above. A Hub-style name
// (owner/name@version) resolves to its name part, as the broker resolves
// infinyon/jolt@0.4.1 to its jolt.
func resolver(t testing.TB) chain.Resolve {
	return func(_ context.Context, uses string) (string, []byte, error) {
		name := uses
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		name, _, _ = strings.Cut(name, "@")
		build, ok := modules[name]
		if !ok {
			return "", nil, fmt.Errorf("no module %q: store one with `skiff smartmodule create`", uses)
		}
		return name, build(t), nil
	}
}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), engine.Config{
		CacheDir: wasmbuild.CacheDir(),
		Logger:   slog.New(slog.NewTextHandler(tbWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// newChain builds a chain of spec (YAML) with topics "in" → "out" unless
// cfg names others.
func newChain(t testing.TB, e *engine.Engine, cfg chain.Config, yml string) *chain.Chain {
	t.Helper()
	spec, err := chain.ParseSpec([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine, cfg.Resolve = e, resolver(t)
	if cfg.OutputTopics == nil {
		cfg.InputTopic, cfg.OutputTopics = "in", []string{"out"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{t}, nil))
	}
	c, err := chain.New(context.Background(), cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// batch makes a batch at offset 1000, time 1e12 ms, of records with the
// given values, keys "k<i>", a header and timestamps 7 ms apart.
func batch(values ...string) engine.Batch {
	b := engine.Batch{Header: protocol.BatchHeader{BaseOffset: 1000, BaseTimestamp: 1e12, MaxTimestamp: 1e12 + 7*int64(len(values))}}
	for i, v := range values {
		b.Records = append(b.Records, protocol.Record{
			OffsetDelta:    int32(i),
			TimestampDelta: int64(7 * i),
			Key:            fmt.Appendf(nil, "k%d", i),
			Value:          []byte(v),
			Headers:        []protocol.RecordHeader{{Key: "source", Value: fmt.Appendf(nil, "s%d", i)}},
		})
	}
	return b
}

func valuesOf(outs []engine.Output) []string {
	vs := []string{}
	for _, o := range outs {
		vs = append(vs, string(o.Record.Value))
	}
	return vs
}

func inputsOf(outs []engine.Output) []int {
	is := []int{}
	for _, o := range outs {
		is = append(is, o.Input)
	}
	return is
}

// sdkDescribes reports whether transforms/sdk answers the kind probe
// itself. Until it does, the examples are of unknown kind; after, of
// their own. The tests check whichever is true now.
func sdkDescribes(t testing.TB) bool {
	t.Helper()
	files, err := filepath.Glob("../sdk/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("sdk sources: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("SKIFF_SDK_DESCRIBE")) {
			return true
		}
	}
	return false
}
