package transforms_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/wasmbuild"
)

// rustModule builds binary bin of testdata/redpanda-rust, a Cargo package
// whose transforms use Redpanda's Rust SDK 1.1.0. Without cargo and its
// wasm32-wasip1 target the test skips (fails with SKIFF_RUST_STRICT=1):
// see wasmbuild.Cargo.
func rustModule(t testing.TB, bin string) []byte {
	t.Helper()
	return wasmbuild.Cargo(t, "transforms/testdata/redpanda-rust", bin)
}

// rustBatch is a batch at offset 42 whose records cover what the Rust SDK
// encodes: null and empty keys and values, headers with null and empty
// values, a value larger than the SDK's first buffer, negative timestamp
// deltas and a gap in the offsets.
func rustBatch() engine.Batch {
	big := append(bytes.Repeat([]byte("x"), 100_000), "ERROR at the end"...)
	return engine.Batch{Header: protocol.BatchHeader{BaseOffset: 42, BaseTimestamp: 1_700_000_000_000}, Records: []protocol.Record{
		{Key: []byte("k0"), Value: []byte("ERROR disk full"), Headers: []protocol.RecordHeader{{Key: "source", Value: []byte("s0")}}},
		{OffsetDelta: 1, TimestampDelta: 3, Key: []byte("k1"), Value: []byte("INFO ok")},
		{OffsetDelta: 2, TimestampDelta: 4, Key: nil, Value: nil, Headers: []protocol.RecordHeader{{Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}}},
		{OffsetDelta: 3, TimestampDelta: -2, Key: []byte{}, Value: []byte{}},
		{OffsetDelta: 5, TimestampDelta: 9, Key: []byte("k5"), Value: []byte("warn: ERROR inside")},
		{OffsetDelta: 6, TimestampDelta: 9, Key: bytes.Repeat([]byte("K"), 300), Value: big},
		{OffsetDelta: 7, TimestampDelta: 10, Key: []byte("k7"), Value: []byte("error in lower case")},
	}}
}

// TestTransformsRedpandaRustFilter runs a regex filter built with
// Redpanda's Rust SDK, unchanged: it keeps exactly the records whose value
// matches, each as it came in (key, headers, timestamp and offset deltas,
// null and empty keys and values), over several batches. Without its
// parameter the module panics at start, which traps (Rust modules are
// built with panic=abort), and the error quotes its panic message.
func TestTransformsRedpandaRustFilter(t *testing.T) {
	e := newEngine(t, engine.Config{})
	wasm := rustModule(t, "regex-filter")
	// A null value is matched as an empty one, as in the SDK's examples.
	r := newRunner(t, e, "rust-regex-filter", wasm, engine.RunnerConfig{Env: map[string]string{"regex": "ERROR|^$"}})
	in := rustBatch()
	for round := range 3 {
		outs, err := r.ProcessBatch(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		kept := []int{0, 2, 3, 4, 5}
		if len(outs) != len(kept) {
			t.Fatalf("round %d: kept %q, want records %v", round, valuesOf(outs), kept)
		}
		for j, i := range kept {
			if o := outs[j]; o.Topic != 0 || o.Input != i || !reflect.DeepEqual(o.Record, in.Records[i]) {
				t.Fatalf("round %d output %d: got %+v, want input record %d %+v", round, j, o, i, in.Records[i])
			}
		}
		in.Header.BaseOffset += 8
	}

	m, err := e.Load(context.Background(), "rust-regex-filter", wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	_, err = m.NewRunner(context.Background(), engine.RunnerConfig{OutputTopics: []string{"out"}})
	if !errors.Is(err, engine.ErrTrap) || !strings.Contains(err.Error(), "panicked at src/bin/regex-filter.rs") || !strings.Contains(err.Error(), "set the regex variable") {
		t.Fatalf("NewRunner without regex: %v, want ErrTrap with the module's panic message", err)
	}
}

// TestTransformsRedpandaRustFanout runs a Rust SDK transform that writes
// each record to every output topic by name (write_with_options), with its
// value upper-cased and a header naming the topic: every output keeps its
// input's key, headers and deltas, and a null value stays null. Pointed at
// a topic that is not an output as well, the module gets -3, panics as the
// SDK does on a failed write, and the batch fails with ErrUnknownTopic and
// no outputs.
func TestTransformsRedpandaRustFanout(t *testing.T) {
	e := newEngine(t, engine.Config{})
	wasm := rustModule(t, "fanout")
	topics := []string{"a", "b", "c"}
	r := newRunner(t, e, "rust-fanout", wasm, engine.RunnerConfig{InputTopic: "in", OutputTopics: topics})
	in := rustBatch()
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(topics)*len(in.Records) {
		t.Fatalf("%d outputs for %d records and %d topics", len(outs), len(in.Records), len(topics))
	}
	for k, o := range outs {
		i, topic := k/len(topics), k%len(topics)
		want := in.Records[i]
		if want.Value != nil {
			want.Value = bytes.ToUpper(want.Value)
		}
		want.Headers = append(append([]protocol.RecordHeader{}, want.Headers...), protocol.RecordHeader{Key: "fanout", Value: []byte(topics[topic])})
		if o.Topic != topic || o.Input != i || !reflect.DeepEqual(o.Record, want) {
			t.Fatalf("output %d: got topic %d input %d %+v, want topic %d input %d %+v", k, o.Topic, o.Input, o.Record, topic, i, want)
		}
	}

	bad := newRunner(t, e, "rust-fanout", wasm, engine.RunnerConfig{
		InputTopic: "in", OutputTopics: topics, Env: map[string]string{"extra_topic": "elsewhere"},
	})
	outs, err = bad.ProcessBatch(context.Background(), in)
	var be *engine.BatchError
	if !errors.As(err, &be) || !errors.Is(err, engine.ErrUnknownTopic) || be.Record != 0 || !strings.Contains(err.Error(), "Unknown(-3)") {
		t.Fatalf("error %v, want ErrUnknownTopic on record 0 with the module's Unknown(-3) in its stderr", err)
	}
	if len(outs) != 0 {
		t.Fatalf("outputs with the error: %q", valuesOf(outs))
	}
}
