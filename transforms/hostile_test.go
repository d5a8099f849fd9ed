package transforms_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiffstream/skiff/transforms/engine"
)

// TestTransformsHostileGo runs a Go module (Skiff's SDK) that misbehaves on
// demand. Each misbehaviour fails its batch with its own error, names the
// record, keeps the outputs before it, and the next batch runs on a fresh
// instance. (The engine's own tests cover the same with hand-assembled
// modules, plus garbage output, bad options and bad pointers, which an SDK
// cannot produce.)
func TestTransformsHostileGo(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "hostile", testModule(t, "hostile"), engine.RunnerConfig{
		BatchTimeout: 500 * time.Millisecond,
		MemoryLimit:  16 << 20,
		OutputTopics: []string{"out"},
	})
	ctx := context.Background()
	cases := []struct {
		value string
		want  error
		text  string
	}{
		{"spin", engine.ErrTimeLimit, "500ms"},
		{"bomb", engine.ErrMemoryLimit, "16777216 bytes"},
		{"panic", engine.ErrModuleFailed, "panic: hostile module panics on purpose"},
		{"error", engine.ErrModuleFailed, "record at offset 1001: hostile module fails on purpose"},
		{"nope", engine.ErrUnknownTopic, `write_record_with_options to "nope" failed with code -3`},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			start := time.Now()
			outs, err := r.ProcessBatch(ctx, batch("before", c.value, "after"))
			var be *engine.BatchError
			if !errors.As(err, &be) || !errors.Is(err, c.want) || be.Record != 1 || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %v, want %v on record 1 containing %q", err, c.want, c.text)
			}
			if got := valuesOf(outs); !reflect.DeepEqual(got, []string{"before"}) {
				t.Errorf("outputs %q", got)
			}
			t.Logf("%v (%s)", err, time.Since(start))
			if outs, err := r.ProcessBatch(ctx, batch("fine")); err != nil || len(outs) != 1 {
				t.Fatalf("next batch: %q, %v", valuesOf(outs), err)
			}
		})
	}
}

// TestTransformsModuleLogs checks that what a module prints goes to the
// engine's logger, a record per line, tagged with the module and stream.
func TestTransformsModuleLogs(t *testing.T) {
	logs := newCapture()
	e := newEngine(t, engine.Config{Logger: slog.New(logs)})
	r := newRunner(t, e, "chatty", testModule(t, "hostile"), engine.RunnerConfig{})
	if _, err := r.ProcessBatch(context.Background(), batch("log")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range logs.lines() {
		got = append(got, l.level.String()+" "+l.attrs["module"]+" "+l.attrs["stream"]+" "+l.msg)
	}
	want := []string{"INFO chatty stdout hello on stdout", "WARN chatty stderr hello on stderr"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
}
