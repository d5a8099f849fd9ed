package builtin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/skiffstream/skiff/transforms/builtin"
	"github.com/skiffstream/skiff/transforms/builtin/funcs"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/sdk"
)

// TestNativePanic: a module function that panics fails its record, like a
// WebAssembly module that traps; the outputs before it come back, and the
// next batch runs on a fresh module.
func TestNativePanic(t *testing.T) {
	made := 0
	n := builtin.NewNativeOf("boom", func() funcs.Module {
		made++
		return funcs.Module{Kind: "filter", Filter: func(r sdk.Record) (bool, error) {
			if string(r.Value) == "boom" {
				panic("kaboom")
			}
			return true, nil
		}}
	})
	in := batch(rec("a", "ok"), rec("b", "boom"), rec("c", "ok"))
	outs, err := n.ProcessBatch(context.Background(), in)
	var be *engine.BatchError
	if !errors.As(err, &be) || be.Record != 1 || be.Offset != 1001 || be.Module != "boom" ||
		!errors.Is(err, engine.ErrModuleFailed) || !strings.Contains(err.Error(), "panic: kaboom") || len(outs) != 1 {
		t.Fatalf("%d outputs, error %v", len(outs), err)
	}
	if outs, err = n.ProcessBatch(context.Background(), batch(rec("a", "ok"))); err != nil || len(outs) != 1 || made != 2 {
		t.Fatalf("after the panic: %d outputs, %v, %d modules made", len(outs), err, made)
	}
}

// TestNativeCloseAndCancel: a closed Native and a cancelled context fail
// the batch as an engine.Runner does.
func TestNativeCloseAndCancel(t *testing.T) {
	n, err := builtin.NewNative("regex-filter", map[string]string{"regex": "x"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.ProcessBatch(ctx, batch(rec("a", "x"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	n.Close()
	if _, err := n.ProcessBatch(context.Background(), batch(rec("a", "x"))); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
}

// TestNativeConcurrent runs batches of jolt (a module with buffers) from
// several goroutines; each output must be its own input transformed (under
// -race this also checks that no module is shared).
func TestNativeConcurrent(t *testing.T) {
	n, err := builtin.NewNative("jolt", map[string]string{"spec": `[{"operation":"shift","spec":{"n":"m"}}]`})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				v := fmt.Sprintf(`{"n":%d}`, g*1000+i)
				outs, err := n.ProcessBatch(context.Background(), batch(rec("k", v), rec("k", v)))
				want := fmt.Sprintf(`{"m":%d}`, g*1000+i)
				if err != nil || len(outs) != 2 || string(outs[0].Record.Value) != want || string(outs[1].Record.Value) != want {
					t.Errorf("%v: %d outputs, %v", v, len(outs), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestChainNative: a step whose module is the embedded built-in runs
// natively; the same bytes copied (a stored module shadowing the built-in)
// run as WebAssembly.
func TestChainNative(t *testing.T) {
	wasm, _ := builtin.Lookup("regex-filter")
	params := map[string]string{"regex": "x"}
	r, kind, ok, err := builtin.ChainNative("regex-filter", wasm, params)
	if err != nil || !ok || kind != chain.KindFilter {
		t.Fatalf("built-in: %v %q %v %v", r, kind, ok, err)
	}
	r.Close()
	if _, _, ok, err := builtin.ChainNative("regex-filter", append([]byte(nil), wasm...), params); ok || err != nil {
		t.Fatalf("a copy: %v %v", ok, err)
	}
	if _, _, ok, err := builtin.ChainNative("regex-filter", wasm, map[string]string{"regex": "("}); ok || !errors.Is(err, engine.ErrModuleFailed) {
		t.Fatalf("bad parameters: %v %v", ok, err)
	}
}
