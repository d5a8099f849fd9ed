package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/tetratelabs/wazero"
)

// counterModule counts its one global up to 30000 in a loop (three times
// the instrumentation's budget) before it asks for a batch, then writes the
// count as the 4-byte value of one record per batch. A budget global that
// collided with the module's own would show in the count.
func counterModule() []byte {
	return wasmModule{
		imports:  abiImports("check_abi_version_2"),
		memPages: 1,
		globals:  1,
		data:     []wasmData{{0x800, []byte{0x01, 0x08, 0, 0, 0, 0, 0x00}}},
		start: cat(
			call(fnCheckABI),
			opLoop,
			[]byte{0x23, 0x00}, i32Const(1), []byte{0x6a, 0x24, 0x00}, // g0 += 1
			[]byte{0x23, 0x00}, i32Const(30000), []byte{0x48, 0x0d, 0x00}, // br_if g0 < 30000
			opEnd,
			opLoop,
			callWith(fnReadBatchHeader, 0x100, 0x110, 0x120, 0x130, 0x140, 0x150, 0x160, 0x170, 0x180, 0x190), opDrop,
			i32Const(0x802), []byte{0x23, 0x00, 0x36, 0x02, 0x00}, // i32.store g0
			callWith(fnWriteRecord, 0x800, 7), opDrop,
			opBr0,
			opEnd,
		),
	}.bytes()
}

func TestTransformsInstrumentKeepsGlobals(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, counterModule(), RunnerConfig{OutputTopics: []string{"o"}})
	outs, err := r.ProcessBatch(context.Background(), values("x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || len(outs[0].Record.Value) != 4 || binary.LittleEndian.Uint32(outs[0].Record.Value) != 30000 {
		t.Fatalf("outputs %+v, want the count 30000", outs)
	}
}

// TestTransformsInstrumentChecks checks where the checks go: one per
// function entry and one per loop, and that the result is valid.
func TestTransformsInstrumentChecks(t *testing.T) {
	wasm := chaosModule()
	out, err := instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	loops := bytes.Count(wasm, opLoop) // the chaos module has no other 0x03 0x40
	check := []byte{0x41, 0x01, 0x6b, 0x24}
	if got := bytes.Count(out, check); got != 1+loops {
		t.Errorf("%d checks, want %d (one entry, %d loops)", got, 1+loops, loops)
	}
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	if _, err := rt.CompileModule(context.Background(), out); err != nil {
		t.Fatalf("instrumented module does not compile: %v", err)
	}
	again, err := instrument(wasm)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatal("instrumenting is not deterministic (the compilation cache relies on it)")
	}
}

// FuzzInstrument checks, for any bytes: instrument never panics, and when
// wazero compiles the input, it compiles the instrumented module too.
func FuzzInstrument(f *testing.F) {
	f.Add(chaosModule())
	f.Add(probeModule(0, 0))
	f.Add(counterModule())
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := instrument(wasm)
		if err != nil {
			return
		}
		in, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		in.Close(ctx)
		cm, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("the module compiles, the instrumented one does not: %v", err)
		}
		cm.Close(ctx)
	})
}
