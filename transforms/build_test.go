package transforms_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/wasmbuild"
)

// buildModule builds the main package pkg of the Go module in dir (relative
// to this package) with GOOS=wasip1 GOARCH=wasm and returns the module's
// bytes.
func buildModule(t testing.TB, dir, pkg string) []byte {
	t.Helper()
	return wasmbuild.Build(t, filepath.Join("transforms", dir), pkg)
}

// Modules of Skiff's module, by package path relative to this directory.
func example(t testing.TB, name string) []byte { return buildModule(t, ".", "./examples/"+name) }
func testModule(t testing.TB, name string) []byte {
	return buildModule(t, ".", "./testdata/"+name)
}

// redpandaModule builds a package of testdata/redpanda-identity, a Go
// module of its own that depends on Redpanda's transform SDK v1.1.0.
func redpandaModule(t testing.TB, pkg string) []byte {
	return buildModule(t, "testdata/redpanda-identity", pkg)
}

// logRecord is a log record a module's output produced.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// captureHandler keeps every log record, for tests of module output.
type captureHandler struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
}

func newCapture() *captureHandler {
	return &captureHandler{mu: &sync.Mutex{}, records: &[]logRecord{}}
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }

func (h *captureHandler) lines() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), *h.records...)
}

func newEngine(t testing.TB, cfg engine.Config) *engine.Engine {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tbWriter{t}, nil))
	}
	if cfg.CacheDir == "" {
		// Engines of all tests share one on-disk compilation cache, as the
		// restarts of a node do, so each module compiles once per run.
		cfg.CacheDir = wasmbuild.CacheDir()
	}
	e, err := engine.New(context.Background(), cfg)
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

// newRunner loads wasm and starts a runner with cfg (topics "in" → "out"
// when cfg names none).
func newRunner(t testing.TB, e *engine.Engine, name string, wasm []byte, cfg engine.RunnerConfig) *engine.Runner {
	t.Helper()
	ctx := context.Background()
	m, err := e.Load(ctx, name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(ctx) })
	if cfg.OutputTopics == nil {
		cfg.InputTopic, cfg.OutputTopics = "in", []string{"out"}
	}
	r, err := m.NewRunner(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// batch makes a batch at offset 1000, time 1e12 ms, of records with the
// given values, keys "k<i>", a header and timestamps 7 ms apart.
func batch(values ...string) engine.Batch {
	b := engine.Batch{Header: protocol.BatchHeader{BaseOffset: 1000, BaseTimestamp: 1e12, MaxTimestamp: 1e12 + 7*int64(len(values))}}
	for i, v := range values {
		b.Records = append(b.Records, protocol.Record{
			OffsetDelta:    int32(i),
			TimestampDelta: int64(7 * i),
			Key:            []byte(fmt.Sprintf("k%d", i)),
			Value:          []byte(v),
			Headers:        []protocol.RecordHeader{{Key: "source", Value: []byte(fmt.Sprintf("s%d", i))}},
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
