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
)

// TestTransformsRedpandaIdentity runs the identity transform built with
// Redpanda's Go SDK v1.1.0, unchanged: every record comes back exactly,
// null keys and values, empty ones, headers with null values and records
// larger than the SDK's first buffer included, over several batches.
func TestTransformsRedpandaIdentity(t *testing.T) {
	e := newEngine(t, engine.Config{})
	r := newRunner(t, e, "redpanda-identity", redpandaModule(t, "."), engine.RunnerConfig{})
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789"), 10_000)
	in := engine.Batch{Header: protocol.BatchHeader{BaseOffset: 42, BaseTimestamp: 1_700_000_000_000}, Records: []protocol.Record{
		{Key: []byte("k"), Value: []byte("v")},
		{OffsetDelta: 1, TimestampDelta: 3, Key: nil, Value: nil},
		{OffsetDelta: 2, Key: []byte{}, Value: []byte{}},
		{OffsetDelta: 3, Value: big, Headers: []protocol.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}}},
		{OffsetDelta: 5, TimestampDelta: -2, Key: big[:300], Value: []byte("after a gap")},
	}}
	for round := range 3 {
		outs, err := r.ProcessBatch(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != len(in.Records) {
			t.Fatalf("round %d: %d outputs for %d records", round, len(outs), len(in.Records))
		}
		for i, o := range outs {
			want := in.Records[i]
			if want.Headers == nil {
				want.Headers = nil
			}
			got := o.Record
			if o.Topic != 0 || o.Input != i || !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d record %d: got %+v, want %+v", round, i, got, want)
			}
		}
		in.Header.BaseOffset += 6
	}
}

// TestTransformsRedpandaWriteOptions runs a Redpanda SDK transform that
// writes each record to the first output and a copy to another output by
// name (write_record_with_options), then the same module pointed at a topic
// that is not an output: the module gets -3 and the batch fails with
// ErrUnknownTopic.
func TestTransformsRedpandaWriteOptions(t *testing.T) {
	e := newEngine(t, engine.Config{})
	wasm := redpandaModule(t, "./route")
	r := newRunner(t, e, "redpanda-route", wasm, engine.RunnerConfig{InputTopic: "in", OutputTopics: []string{"main", "copies"}})
	in := batch("a", "b")
	outs, err := r.ProcessBatch(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, string(rune('0'+o.Topic))+":"+string(o.Record.Value))
	}
	if want := []string{"0:a", "1:echo:a", "0:b", "1:echo:b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("outputs %q, want %q", got, want)
	}
	checkKept(t, outs[1], in, 0)

	bad := newRunner(t, e, "redpanda-route", wasm, engine.RunnerConfig{
		InputTopic: "in", OutputTopics: []string{"main", "copies"}, Env: map[string]string{"ROUTE_TO": "elsewhere"},
	})
	outs, err = bad.ProcessBatch(context.Background(), in)
	var be *engine.BatchError
	if !errors.As(err, &be) || !errors.Is(err, engine.ErrUnknownTopic) || be.Record != 0 || !strings.Contains(err.Error(), "errno: -3") {
		t.Fatalf("error %v, want ErrUnknownTopic on record 0 with the module's -3 in its stderr", err)
	}
	if len(outs) != 0 {
		t.Fatalf("outputs with the error: %q", valuesOf(outs))
	}
}
