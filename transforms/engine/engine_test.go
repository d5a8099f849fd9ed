package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTransformsLoadChecks(t *testing.T) {
	e := newTestEngine(t, Config{MaxModuleSize: 4096})
	ctx := context.Background()
	imports := abiImports("check_abi_version_2")
	cases := []struct {
		name string
		wasm []byte
		want error
		text string
	}{
		{"too large", make([]byte, 4097), ErrModuleTooLarge, "4097 bytes, the limit is 4096"},
		{"not wasm", []byte("hello"), nil, "not a WebAssembly binary"},
		{"no marker", wasmModule{imports: imports[1:], memPages: 1}.bytes(), ErrNotTransform, "check_abi_version_1 nor check_abi_version_2"},
		{"no _start", wasmModule{imports: imports, memPages: 1, noStart: true}.bytes(), ErrNotTransform, "_start"},
		{"unknown host function", wasmModule{imports: append(imports, wasmImport{hostModule, "read_batch_footer", nil, nil}), memPages: 1}.bytes(), ErrNotTransform, "read_batch_footer"},
		{"other module", wasmModule{imports: append(imports, wasmImport{"redpanda_schema_registry", "get_schema_definition", nil, nil}), memPages: 1}.bytes(), ErrNotTransform, "schema registry"},
		{"wrong signature", wasmModule{imports: append(imports, wasmImport{hostModule, "write_record", []byte{tI32}, []byte{tI32}}), memPages: 1}.bytes(), ErrNotTransform, "wrong signature"},
	}
	for _, c := range cases {
		_, err := e.Load(ctx, c.name, c.wasm)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.want, c.text)
		}
	}
}

// TestTransformsCompileOnce checks that loading the same bytes twice shares
// one compilation, which is dropped with the last module.
func TestTransformsCompileOnce(t *testing.T) {
	e := newTestEngine(t, Config{})
	ctx := context.Background()
	a, err := e.Load(ctx, "a", chaosModule())
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Load(ctx, "b", chaosModule())
	if err != nil {
		t.Fatal(err)
	}
	if a.c != b.c || a.Hash() != b.Hash() || len(e.compiled) != 1 {
		t.Fatalf("two compilations of the same bytes")
	}
	a.Close(ctx)
	a.Close(ctx)
	if len(e.compiled) != 1 {
		t.Fatal("compilation dropped while a module still uses it")
	}
	b.Close(ctx)
	if len(e.compiled) != 0 {
		t.Fatal("compilation kept after the last module closed")
	}
	if _, err := a.NewRunner(ctx, RunnerConfig{OutputTopics: []string{"o"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewRunner on a closed module: %v", err)
	}
}

// TestTransformsCompilationCacheDir checks that compilations are written to
// the cache directory and that a second engine (a restarted node) reuses
// them.
func TestTransformsCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for i := range 2 {
		e := newTestEngine(t, Config{CacheDir: dir})
		m, err := e.Load(ctx, "chaos", chaosModule())
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.NewRunner(ctx, RunnerConfig{OutputTopics: []string{"o"}})
		if err != nil {
			t.Fatal(err)
		}
		if outs, err := r.ProcessBatch(ctx, values("x")); err != nil || len(outs) != 1 {
			t.Fatalf("run %d: %v, %v", i, outs, err)
		}
		r.Close()
		e.Close(ctx)
	}
	n := 0
	filepathWalk(t, dir, func() { n++ })
	if n == 0 {
		t.Fatal("nothing in the compilation cache directory")
	}
}

func filepathWalk(t *testing.T, dir string, file func()) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.IsDir() {
			filepathWalk(t, dir+"/"+en.Name(), file)
		} else {
			file()
		}
	}
}

func TestTransformsRunnerConfigChecks(t *testing.T) {
	e := newTestEngine(t, Config{MaxMemoryLimit: 32 << 20})
	ctx := context.Background()
	m, err := e.Load(ctx, "chaos", chaosModule())
	if err != nil {
		t.Fatal(err)
	}
	big, err := e.Load(ctx, "big", wasmModule{imports: abiImports("check_abi_version_2"), memPages: 100}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"o"}
	cases := []struct {
		name string
		m    *Module
		cfg  RunnerConfig
		text string
	}{
		{"no outputs", m, RunnerConfig{}, "no output topic"},
		{"empty output", m, RunnerConfig{OutputTopics: []string{""}}, "has no name"},
		{"duplicate output", m, RunnerConfig{OutputTopics: []string{"a", "a"}}, "listed twice"},
		{"reserved env", m, RunnerConfig{OutputTopics: out, Env: map[string]string{"REDPANDA_OUTPUT_TOPIC_3": "x"}}, "reserved"},
		{"bad env name", m, RunnerConfig{OutputTopics: out, Env: map[string]string{"a=b": "x"}}, "without '='"},
		{"NUL in value", m, RunnerConfig{OutputTopics: out, Env: map[string]string{"a": "x\x00"}}, "NUL"},
		{"memory above max", m, RunnerConfig{OutputTopics: out, MemoryLimit: 64 << 20}, "above the engine's maximum"},
		{"module needs more", big, RunnerConfig{OutputTopics: out, MemoryLimit: 1 << 20}, "needs 6553600 bytes of memory to start"},
	}
	for _, c := range cases {
		if _, err := c.m.NewRunner(ctx, c.cfg); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.text)
		}
	}
}

// TestTransformsModuleExitsAtStart checks that a module that returns from
// _start without asking for a batch fails NewRunner.
func TestTransformsModuleExitsAtStart(t *testing.T) {
	e := newTestEngine(t, Config{})
	ctx := context.Background()
	m, err := e.Load(ctx, "quitter", wasmModule{imports: abiImports("check_abi_version_2"), memPages: 1, start: call(fnCheckABI)}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.NewRunner(ctx, RunnerConfig{OutputTopics: []string{"o"}})
	if !errors.Is(err, ErrModuleExited) {
		t.Fatalf("error %v, want ErrModuleExited", err)
	}
	spin, err := e.Load(ctx, "spinner", wasmModule{imports: abiImports("check_abi_version_2"), memPages: 1, start: cat(opLoop, opBr0, opEnd)}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = spin.NewRunner(ctx, RunnerConfig{OutputTopics: []string{"o"}, BatchTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrTimeLimit) || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s, want ErrTimeLimit", err, time.Since(start))
	}
}
