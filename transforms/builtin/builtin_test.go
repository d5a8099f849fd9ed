package builtin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/builtin"
	"github.com/skiffstream/skiff/transforms/builtin/internal/wasmbuild"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/sdk"
)

// cacheDir is the engines' compilation cache, shared by the tests of one
// run so that each module compiles once.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skiff-builtin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sums(t *testing.T) wasmbuild.Sums {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("wasm", wasmbuild.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := wasmbuild.ParseSums(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuiltinLookup(t *testing.T) {
	if got := fmt.Sprint(builtin.Names()); got != "[jolt json-filter regex-filter]" {
		t.Fatalf("Names() = %s", got)
	}
	s := sums(t)
	for _, name := range builtin.Names() {
		wasm, ok := builtin.Lookup(name)
		if !ok || !bytes.HasPrefix(wasm, []byte("\x00asm")) {
			t.Fatalf("Lookup(%q) = %d bytes, %v", name, len(wasm), ok)
		}
		if got := wasmbuild.WasmSum(wasm); got != s.Wasm[name] {
			t.Errorf("%s: the embedded module is %s, %s says %s", name, got, wasmbuild.SumsFile, s.Wasm[name])
		}
	}
	jolt, _ := builtin.Lookup("jolt")
	for _, alias := range []string{"infinyon/jolt@0.4.1", "infinyon/jolt@0.1.0", "infinyon/jolt"} {
		if wasm, ok := builtin.Lookup(alias); !ok || &wasm[0] != &jolt[0] {
			t.Errorf("Lookup(%q) does not give jolt", alias)
		}
	}
	for _, unknown := range []string{"", "nope", "jolt2", "infinyon/regex-filter@0.1.0", "infinyon/joltx@1", "Jolt"} {
		if _, ok := builtin.Lookup(unknown); ok {
			t.Errorf("Lookup(%q) found a module", unknown)
		}
	}
}

// TestBuiltinSourcesCurrent fails when a module, the SDK or the jolt
// package changed and the committed modules were not generated again.
func TestBuiltinSourcesCurrent(t *testing.T) {
	got, err := wasmbuild.SourceHash(".")
	if err != nil {
		t.Fatal(err)
	}
	if want := sums(t).Sources; got != want {
		t.Fatalf("the sources of the built-in modules are %s, the committed modules were built from %s: "+
			"run `go generate ./transforms/builtin` and commit wasm/", got, want)
	}
}

// TestBuiltinWasmCurrent rebuilds the modules and compares them with the
// embedded ones byte for byte: Go builds with -trimpath are reproducible
// for one toolchain. It skips under another toolchain (then the sources
// check above still holds) and with -short.
func TestBuiltinWasmCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three modules; run without -short")
	}
	s := sums(t)
	v, err := wasmbuild.GoVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v != s.GoVersion {
		t.Skipf("the modules were built with %s, this is %s: builds would differ", s.GoVersion, v)
	}
	for _, name := range wasmbuild.Modules {
		wasm, err := wasmbuild.Build(".", name)
		if err != nil {
			t.Fatal(err)
		}
		embedded, _ := builtin.Lookup(name)
		if !bytes.Equal(wasm, embedded) {
			t.Errorf("%s: a build now gives %s (%d bytes), the embedded module is %s (%d bytes): run `go generate ./transforms/builtin` and commit wasm/",
				name, wasmbuild.WasmSum(wasm), len(wasm), wasmbuild.WasmSum(embedded), len(embedded))
		}
	}
}

// logLines collects what the modules print.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func newEngine(t testing.TB) (*engine.Engine, *logLines) {
	t.Helper()
	logs := &logLines{}
	e, err := engine.New(context.Background(), engine.Config{CacheDir: cacheDir, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, logs
}

// start loads the built-in module name and starts a runner with params.
// The runner runs each batch twice, through the module's WebAssembly and
// natively (builtin.NewNative, as the broker runs built-ins), fails the
// test when the two differ in outputs or errors, and returns what the
// WebAssembly gave. So every case of these tests checks both.
func start(t testing.TB, e *engine.Engine, name string, params map[string]string) (*dualRunner, error) {
	t.Helper()
	wasm, ok := builtin.Lookup(name)
	if !ok {
		t.Fatalf("no built-in %q", name)
	}
	if !builtin.IsBuiltin(name, wasm) || builtin.IsBuiltin(name, bytes.Clone(wasm)) {
		t.Fatalf("IsBuiltin(%q) does not tell the embedded module from a copy", name)
	}
	ctx := context.Background()
	m, err := e.Load(ctx, name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(ctx) })
	r, err := m.NewRunner(ctx, engine.RunnerConfig{Env: params, InputTopic: "in", OutputTopics: []string{"out"}})
	if err == nil {
		t.Cleanup(func() { r.Close() })
	}
	if _, probe := params[sdk.DescribeEnv]; probe {
		return &dualRunner{t: t, wasm: r}, err // a WebAssembly matter
	}
	n, nerr := builtin.NewNative(name, params)
	switch {
	case (err == nil) != (nerr == nil):
		t.Fatalf("%s %v: WebAssembly start error %v, native %v", name, params, err, nerr)
	case err != nil:
		words := strings.TrimPrefix(nerr.Error(), engine.ErrModuleFailed.Error()+": ")
		if !errors.Is(nerr, engine.ErrModuleFailed) || !strings.Contains(err.Error(), words) {
			t.Fatalf("%s %v: native start error %q, WebAssembly %q", name, params, nerr, err)
		}
		return nil, err
	}
	// builtin.Kind (listings) states the kinds apart from the modules:
	// it must say what the module is.
	if n.Kind() == "" || n.Kind() != builtin.Kind(name) || n.Name() != name {
		t.Fatalf("native %s: name %q, kind %q", name, n.Name(), n.Kind())
	}
	t.Cleanup(func() { n.Close() })
	return &dualRunner{t: t, wasm: r, native: n}, nil
}

type dualRunner struct {
	t      testing.TB
	wasm   *engine.Runner
	native *builtin.Native
}

func (d *dualRunner) ProcessBatch(ctx context.Context, b engine.Batch) ([]engine.Output, error) {
	d.t.Helper()
	outs, err := d.wasm.ProcessBatch(ctx, b)
	if d.native == nil {
		return outs, err
	}
	nouts, nerr := d.native.ProcessBatch(ctx, b)
	if len(nouts) != len(outs) {
		d.t.Fatalf("native: %d outputs, WebAssembly %d (errors %v, %v)", len(nouts), len(outs), nerr, err)
	}
	for i := range outs {
		w, n := outs[i], nouts[i]
		if w.Input != n.Input || w.Topic != n.Topic || !reflect.DeepEqual(w.Record, n.Record) {
			d.t.Fatalf("output %d: native %+v, WebAssembly %+v", i, n, w)
		}
	}
	var be, nbe *engine.BatchError
	switch {
	case (err == nil) != (nerr == nil):
		d.t.Fatalf("native error %v, WebAssembly %v", nerr, err)
	case err != nil:
		if !errors.As(err, &be) || !errors.As(nerr, &nbe) || be.Record != nbe.Record || be.Offset != nbe.Offset || be.Module != nbe.Module {
			d.t.Fatalf("native error %#v, WebAssembly %#v", nerr, err)
		}
		words := strings.TrimPrefix(nbe.Err.Error(), engine.ErrModuleFailed.Error()+": ")
		if !errors.Is(nerr, engine.ErrModuleFailed) || !strings.Contains(err.Error(), words) {
			d.t.Fatalf("native error %q, WebAssembly %q", nerr, err)
		}
	}
	return outs, err
}

// record is one input record.
type record struct{ key, value []byte }

func rec(key, value string) record { return record{[]byte(key), []byte(value)} }

// batch makes a batch at offset 1000 with a header on each record.
func batch(records ...record) engine.Batch {
	b := engine.Batch{Header: protocol.BatchHeader{BaseOffset: 1000, BaseTimestamp: 1e12, MaxTimestamp: 1e12}}
	for i, r := range records {
		b.Records = append(b.Records, protocol.Record{
			OffsetDelta: int32(i),
			Key:         r.key,
			Value:       r.value,
			Headers:     []protocol.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}},
		})
	}
	return b
}

// values returns the output values, and checks that each output kept the
// key and headers of its input.
func values(t *testing.T, in engine.Batch, outs []engine.Output) []string {
	t.Helper()
	vs := []string{}
	for _, o := range outs {
		r := in.Records[o.Input]
		if !bytes.Equal(o.Record.Key, r.Key) || len(o.Record.Headers) != 1 || string(o.Record.Headers[0].Value) != string(r.Headers[0].Value) {
			t.Errorf("output %+v does not keep the key and headers of input %d", o.Record, o.Input)
		}
		if o.Record.Value == nil {
			vs = append(vs, "<null>")
			continue
		}
		vs = append(vs, string(o.Record.Value))
	}
	return vs
}
