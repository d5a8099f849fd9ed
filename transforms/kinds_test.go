package transforms_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
)

// checkKept checks that out is in's record i passed through: same key,
// headers and deltas (hence timestamp), and Input i.
func checkKept(t *testing.T, out engine.Output, in engine.Batch, i int) {
	t.Helper()
	r := in.Records[i]
	if out.Input != i || string(out.Record.Key) != string(r.Key) || !reflect.DeepEqual(out.Record.Headers, r.Headers) ||
		out.Record.TimestampDelta != r.TimestampDelta || out.Record.OffsetDelta != r.OffsetDelta {
		t.Errorf("output %+v does not keep input record %d %+v", out, i, r)
	}
}

func TestTransformsFilter(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "regex-filter", example(t, "regex-filter"), engine.RunnerConfig{Env: map[string]string{"regex": "^ERROR"}})
	in := batch("ERROR disk full", "INFO ok", "ERROR again", "", "WARN ERROR")
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{"ERROR disk full", "ERROR again"}) {
		t.Fatalf("kept %q", got)
	}
	checkKept(t, outs[0], in, 0)
	checkKept(t, outs[1], in, 2)

	// The init step fails without its parameter, with the module's words.
	m, err := e.Load(context.Background(), "regex-filter", example(t, "regex-filter"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	_, err = m.NewRunner(context.Background(), engine.RunnerConfig{OutputTopics: []string{"out"}})
	if !errors.Is(err, engine.ErrModuleFailed) || !strings.Contains(err.Error(), "`regex` parameter is required") {
		t.Fatalf("NewRunner without regex: %v", err)
	}
}

func TestTransformsMap(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "json-projection", example(t, "json-projection"), engine.RunnerConfig{Env: map[string]string{"fields": "id, name"}})
	in := batch(`{"id":1,"name":"a","secret":"x"}`, `{"name":"b","nested":{"id":2}}`, `{}`)
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{`{"id":1,"name":"a"}`, `{"name":"b"}`, `{}`}) {
		t.Fatalf("projected %q", got)
	}
	for i := range outs {
		checkKept(t, outs[i], in, i)
	}

	// A value that is not JSON fails its record; the records before it
	// come out, and the next batch runs on a fresh instance.
	outs, err = r.ProcessBatch(context.Background(), batch(`{"id":3}`, `not json`, `{"id":4}`))
	var be *engine.BatchError
	if !errors.As(err, &be) || be.Record != 1 || be.Offset != 1001 || !errors.Is(err, engine.ErrModuleFailed) ||
		!strings.Contains(err.Error(), "value is not a JSON object") {
		t.Fatalf("error %v, want record 1 failed with the module's message", err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{`{"id":3}`}) {
		t.Fatalf("outputs with the error: %q", got)
	}
	if outs, err = r.ProcessBatch(context.Background(), batch(`{"id":5}`)); err != nil || valuesOf(outs)[0] != `{"id":5}` {
		t.Fatalf("after the failure: %q, %v", valuesOf(outs), err)
	}
}

func TestTransformsFilterMap(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "filter-map", testModule(t, "filter-map"), engine.RunnerConfig{})
	in := batch("one", "two", "three")
	in.Records[1].Key = nil
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{"ONE", "THREE"}) {
		t.Fatalf("got %q", got)
	}
	checkKept(t, outs[0], in, 0)
	checkKept(t, outs[1], in, 2)
}

func TestTransformsArrayMap(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "word-split", example(t, "word-split"), engine.RunnerConfig{})
	in := batch("the quick  fox", "", "  ", "jumps")
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{"the", "quick", "fox", "jumps"}) {
		t.Fatalf("got %q", got)
	}
	for i, input := range []int{0, 0, 0, 3} {
		checkKept(t, outs[i], in, input)
	}
}

func TestTransformsAggregate(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "running-count", example(t, "running-count"), engine.RunnerConfig{Env: map[string]string{"start": "10"}})
	ctx := context.Background()
	var got []string
	for _, b := range []engine.Batch{batch("a", "b"), batch("c"), batch("d", "e", "f")} {
		outs, err := r.ProcessBatch(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range outs {
			checkKept(t, outs[i], b, i)
		}
		got = append(got, valuesOf(outs)...)
	}
	// The accumulator lives in the instance, across batches.
	if want := []string{"11", "12", "13", "14", "15", "16"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %q, want %q", got, want)
	}
}

// TestTransformsProcessParams checks what a module sees: parameters, the
// topic variables, absolute offsets and timestamps, keys and headers; and
// writes by name to every output topic.
func TestTransformsProcessParams(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "params", testModule(t, "params"), engine.RunnerConfig{
		Env:          map[string]string{"spec": `{"a":[1,2]}`, "mode": "fast", "empty": ""},
		InputTopic:   "orders",
		OutputTopics: []string{"o1", "o2", "o3"},
	})
	in := batch("x", "y")
	in.Header.Attributes = 0x08 // LogAppendTime: every record has the max timestamp
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 6 {
		t.Fatalf("%d outputs, want 2 records × 3 topics", len(outs))
	}
	for i, o := range outs {
		if o.Topic != i%3 || o.Input != i/3 {
			t.Errorf("output %d: topic %d input %d", i, o.Topic, o.Input)
		}
		var rep struct {
			Params    map[string]string
			Input     string
			Outputs   []string
			Offset    int64
			Timestamp int64
			Key       string
			Headers   map[string]string
		}
		if err := json.Unmarshal(o.Record.Value, &rep); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"spec": `{"a":[1,2]}`, "mode": "fast", "empty": ""}
		if !reflect.DeepEqual(rep.Params, want) || rep.Input != "orders" || !reflect.DeepEqual(rep.Outputs, []string{"o1", "o2", "o3"}) {
			t.Errorf("module saw params %v, input %q, outputs %v", rep.Params, rep.Input, rep.Outputs)
		}
		rec := in.Records[o.Input]
		if rep.Offset != 1000+int64(rec.OffsetDelta) || rep.Timestamp != in.Header.MaxTimestamp ||
			rep.Key != string(rec.Key) || rep.Headers["source"] != string(rec.Headers[0].Value) {
			t.Errorf("module saw record %+v, input was %+v", rep, rec)
		}
	}
}

// TestTransformsCompressedBatch runs a compressed batch, parsed with
// engine.ParseBatch, through a filter.
func TestTransformsCompressedBatch(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "regex-filter", example(t, "regex-filter"), engine.RunnerConfig{Env: map[string]string{"regex": "keep"}})
	in := batch("keep 1", "drop", "keep 2")
	raw, err := protocol.BuildBatch(in.Header, in.Records, protocol.CodecZstd)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := engine.ParseBatch(raw, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := r.ProcessBatch(context.Background(), parsed)
	if err != nil {
		t.Fatal(err)
	}
	if got := valuesOf(outs); !reflect.DeepEqual(got, []string{"keep 1", "keep 2"}) {
		t.Fatalf("got %q", got)
	}
}
