package engine

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffstream/skiff/protocol"
)

func values(vs ...string) Batch {
	b := Batch{Header: protocol.BatchHeader{BaseOffset: 100, BaseTimestamp: 5000}}
	for i, v := range vs {
		b.Records = append(b.Records, protocol.Record{OffsetDelta: int32(i), TimestampDelta: int64(10 * i), Value: []byte(v)})
	}
	return b
}

func outValues(outs []Output) []string {
	var vs []string
	for _, o := range outs {
		vs = append(vs, string(o.Record.Value))
	}
	return vs
}

// TestTransformsHostile runs each misbehaviour of the chaos module as the
// third record of a batch and checks that it gets its own error, that the
// outputs of the records before it are returned, and that the next batch
// runs on a fresh instance.
func TestTransformsHostile(t *testing.T) {
	e := newTestEngine(t, Config{})
	cases := []struct {
		value string
		want  error
	}{
		{"X unreachable", ErrTrap},
		{"L endless loop", ErrTimeLimit},
		{"M memory bomb", ErrMemoryLimit},
		{"G garbage output", ErrBadRecord},
		{"T not an output", ErrUnknownTopic},
		{"O bad options", ErrBadOptions},
		{"P bad pointer", ErrBadPointer},
	}
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{
		BatchTimeout: 300 * time.Millisecond,
		MemoryLimit:  2 << 20,
		OutputTopics: []string{"first", "second"},
	})
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.value[:1], func(t *testing.T) {
			start := time.Now()
			outs, err := r.ProcessBatch(ctx, values("a", "b", c.value, "d"))
			var be *BatchError
			if !errors.As(err, &be) || !errors.Is(err, c.want) {
				t.Fatalf("error = %v, want a *BatchError wrapping %v", err, c.want)
			}
			if be.Record != 2 || be.Offset != 102 {
				t.Errorf("failed record %d at offset %d, want 2 at offset 102 (%v)", be.Record, be.Offset, err)
			}
			if got := outValues(outs); len(got) != 2 || got[0] != "a" || got[1] != "b" {
				t.Errorf("outputs %q, want those of the records before the failing one", got)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			t.Logf("%v", err)
			outs, err = r.ProcessBatch(ctx, values("after"))
			if err != nil || len(outs) != 1 || string(outs[0].Record.Value) != "after" {
				t.Fatalf("next batch = %q, %v; want it echoed by a fresh instance", outValues(outs), err)
			}
		})
	}
}

// TestTransformsUnknownTopicCode checks the -3 the module gets back for a
// topic that is not an output, and that writes to a named output work.
func TestTransformsUnknownTopicCode(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{})
	outs, err := r.ProcessBatch(context.Background(), values("S to second"))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Topic != 1 || outs[1].Topic != 0 {
		t.Fatalf("outputs %+v, want one to topic 1 then the echo to topic 0", outs)
	}
	for _, c := range []struct {
		opts  []byte
		topic int
		code  int32
	}{
		{optSecond, 1, 0},
		{nil, 0, 0},
		{[]byte{0x01, 2 * 5, 'f', 'i', 'r', 's', 't'}, 0, 0},
		{optNope, 0, codeUnknownTopic},
		{optBad, 0, codeBadOptions},
		{[]byte{0x01, 0x01}, 0, codeBadOptions},       // null topic
		{[]byte{0x01, 2 * 9, 'x'}, 0, codeBadOptions}, // short
	} {
		topic, code, _ := r.outputTopic(c.opts)
		if topic != c.topic || code != c.code {
			t.Errorf("options %x: topic %d code %d, want %d and %d", c.opts, topic, code, c.topic, c.code)
		}
	}
}

// TestTransformsHostileIsolation runs a trapping and an endless module
// beside a healthy one: the healthy one is not disturbed.
func TestTransformsHostileIsolation(t *testing.T) {
	e := newTestEngine(t, Config{})
	cfg := RunnerConfig{BatchTimeout: 200 * time.Millisecond, OutputTopics: []string{"first"}}
	bad := newTestRunner(t, e, chaosModule(), cfg)
	cfg.BatchTimeout = 10 * time.Second
	good := newTestRunner(t, e, chaosModule(), cfg)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 6 {
			v := "X"
			if i%2 == 1 {
				v = "L"
			}
			if _, err := bad.ProcessBatch(ctx, values(v)); err == nil {
				errs <- errors.New("hostile batch succeeded")
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			outs, err := good.ProcessBatch(ctx, values("x1", "x2"))
			if err != nil || len(outs) != 2 {
				errs <- errors.Join(err, errors.New("healthy batch failed"))
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTransformsContextCancel checks that a caller's cancelled context
// stops a batch in an endless loop long before the time limit.
func TestTransformsContextCancel(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{BatchTimeout: time.Minute, OutputTopics: []string{"first"}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.ProcessBatch(ctx, values("L"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s, want the context's deadline soon", err, time.Since(start))
	}
	if outs, err := r.ProcessBatch(context.Background(), values("ok")); err != nil || len(outs) != 1 {
		t.Fatalf("next batch = %v, %v", outs, err)
	}
}

// TestTransformsCloseStopsInstances checks that Close ends every instance
// goroutine and that a closed runner refuses batches.
func TestTransformsCloseStopsInstances(t *testing.T) {
	e := newTestEngine(t, Config{})
	m, err := e.Load(context.Background(), "chaos", chaosModule())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	before := runtime.NumGoroutine()
	r, err := m.NewRunner(context.Background(), RunnerConfig{OutputTopics: []string{"o"}, Instances: 4})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.ProcessBatch(context.Background(), values("a", "b")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r.Close()
	r.Close()
	if _, err := r.ProcessBatch(context.Background(), values("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestTransformsErrorNamesRecord checks the text of a batch error.
func TestTransformsErrorNamesRecord(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{OutputTopics: []string{"first"}})
	_, err := r.ProcessBatch(context.Background(), values("ok", "X"))
	if err == nil || !strings.Contains(err.Error(), "record at offset 101") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("error %q, want the offset and the trap named", err)
	}
}

// TestTransformsSpinDoesNotStallGC checks that a module in an endless loop
// does not hold up the Go runtime: Go cannot preempt compiled WebAssembly,
// so a garbage collection waits for running modules to call into the host,
// which the instrumentation makes them do every yieldEvery iterations. (A
// module that never did would stop the world for the whole broker, and the
// time limit's own timer with it.)
func TestTransformsSpinDoesNotStallGC(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{BatchTimeout: 2 * time.Second, OutputTopics: []string{"first"}})
	done := make(chan error, 1)
	go func() {
		_, err := r.ProcessBatch(context.Background(), values("L"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it spin
	var worst time.Duration
	for range 20 {
		start := time.Now()
		runtime.GC()
		worst = max(worst, time.Since(start))
	}
	if worst > 500*time.Millisecond {
		t.Errorf("a garbage collection took %s beside a spinning module", worst)
	}
	if err := <-done; !errors.Is(err, ErrTimeLimit) {
		t.Fatalf("error %v, want ErrTimeLimit", err)
	}
	t.Logf("slowest GC beside a spinning module: %s", worst)
}
