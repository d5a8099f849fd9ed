package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Imports of the RunOnce test modules: the ABI's, then WASI's fd_write and
// proc_exit at these indices.
const (
	fnFdWrite = numImports + iota
	fnProcExit
)

const (
	addrText    = 0x800 // the text the module prints
	addrIovec   = 0x900 // one iovec {addrText, len}
	addrWritten = 0x910 // fd_write's nwritten
)

// printingModule prints text to fd (1 stdout, 2 stderr) and then runs then.
func printingModule(fd int32, text string, then ...[]byte) []byte {
	iovec := binary.LittleEndian.AppendUint32(nil, addrText)
	iovec = binary.LittleEndian.AppendUint32(iovec, uint32(len(text)))
	return wasmModule{
		imports: append(abiImports("check_abi_version_2"),
			wasmImport{"wasi_snapshot_preview1", "fd_write", []byte{tI32, tI32, tI32, tI32}, []byte{tI32}},
			wasmImport{"wasi_snapshot_preview1", "proc_exit", []byte{tI32}, nil}),
		memPages: 1,
		data:     []wasmData{{addrText, []byte(text)}, {addrIovec, iovec}},
		start:    cat(callWith(fnFdWrite, fd, addrIovec, 1, addrWritten), opDrop, cat(then...)),
	}.bytes()
}

var askForBatch = cat(callWith(fnReadBatchHeader, 0x100, 0x110, 0x120, 0x130, 0x140, 0x150, 0x160, 0x170, 0x180, 0x190), opDrop)

// lockedBuffer is a log destination the tests read while modules write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestTransformsRunOnce(t *testing.T) {
	var logged lockedBuffer
	e := newTestEngine(t, Config{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx := context.Background()
	const line = `{"skiff_sdk_kind":"filter"}`
	cases := []struct {
		name    string
		wasm    []byte
		want    RunOnceResult
		wantErr error
	}{
		{"prints and returns", printingModule(1, line+"\n"), RunOnceResult{Stdout: []string{line}}, nil},
		{"prints and exits 0", printingModule(1, line+"\nsecond line\n", callWith(fnProcExit, 0)), RunOnceResult{Stdout: []string{line, "second line"}}, nil},
		{"no final newline", printingModule(1, "partial", callWith(fnProcExit, 0)), RunOnceResult{Stdout: []string{"partial"}}, nil},
		{"asks for a batch", printingModule(1, "init\n", askForBatch), RunOnceResult{Stdout: []string{"init"}, AskedForBatch: true}, nil},
		{"silent transform", chaosModule(), RunOnceResult{AskedForBatch: true}, nil},
		{"exits 1", printingModule(2, "panic: no kind here\n", callWith(fnProcExit, 1)), RunOnceResult{}, ErrModuleFailed},
		{"traps", printingModule(1, line+"\n", opUnreachable), RunOnceResult{}, ErrTrap},
	}
	for _, c := range cases {
		m, err := e.Load(ctx, c.name, c.wasm)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := m.RunOnce(ctx, RunnerConfig{OutputTopics: []string{"out"}})
		m.Close(ctx)
		switch {
		case c.wantErr != nil && !errors.Is(err, c.wantErr):
			t.Errorf("%s: error %v, want %v", c.name, err, c.wantErr)
		case c.wantErr == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr == nil && !reflect.DeepEqual(got, c.want):
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
	// What a module prints to stdout is the answer, not log noise; stderr
	// still reaches the log, tagged with the module.
	if log := logged.String(); strings.Contains(log, "skiff_sdk_kind") || !strings.Contains(log, "panic: no kind here") || !strings.Contains(log, "module=\"exits 1\"") {
		t.Errorf("log:\n%s", log)
	}
}

// TestTransformsRunOnceErrors: the error of a failing module carries its
// stderr; a module that never asks for a batch is stopped by the time
// limit; a cancelled context ends the run.
func TestTransformsRunOnceErrors(t *testing.T) {
	e := newTestEngine(t, Config{})
	ctx := context.Background()
	load := func(name string, wasm []byte) *Module {
		m, err := e.Load(ctx, name, wasm)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close(ctx) })
		return m
	}

	failing := load("failing", printingModule(2, "panic: bad parameter\n", callWith(fnProcExit, 2)))
	_, err := failing.RunOnce(ctx, RunnerConfig{OutputTopics: []string{"out"}})
	if !errors.Is(err, ErrModuleFailed) || !strings.Contains(err.Error(), "panic: bad parameter") || !strings.Contains(err.Error(), "failing") {
		t.Errorf("failing module: %v", err)
	}

	spin := load("spin", printingModule(1, "x\n", opLoop, opBr0, opEnd))
	_, err = spin.RunOnce(ctx, RunnerConfig{OutputTopics: []string{"out"}, BatchTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeLimit) {
		t.Errorf("spinning module: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = spin.RunOnce(cctx, RunnerConfig{OutputTopics: []string{"out"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	_, err = spin.RunOnce(ctx, RunnerConfig{})
	if err == nil || !strings.Contains(err.Error(), "no output topic") {
		t.Errorf("no output topic: %v", err)
	}

	// Memory grown beyond the limit while starting.
	bomb := load("bomb", printingModule(1, "x\n", opLoop, opGrowOrTrap, opBr0, opEnd))
	_, err = bomb.RunOnce(ctx, RunnerConfig{OutputTopics: []string{"out"}, MemoryLimit: 2 << 20})
	if !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("memory bomb: %v", err)
	}
}
