package chain_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// hostileChain is word-split then the hostile test module, which fails on
// the words "error" (returns an error) and "panic", and echoes the others.
const hostileChain = `
transforms:
  - uses: word-split
  - uses: hostile
`

// hostileBatch: record 1 makes "a" (kept) then "error"; record 3 makes
// "panic" after "b"; both fail in step 2, after step 2 already wrote
// something for the same original record.
func hostileBatch() engine.Batch {
	return batch("one", "a error c", "two", "b panic", "three four")
}

func TestChainPolicyFail(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{}, hostileChain)
	res, err := c.Process(context.Background(), hostileBatch())
	if res != nil {
		t.Errorf("outputs under policy fail: %+v", res)
	}
	var be *engine.BatchError
	var se *chain.StepError
	if !errors.As(err, &be) || !errors.As(err, &se) || !errors.Is(err, engine.ErrModuleFailed) {
		t.Fatalf("error %v (%T) is not a StepError wrapping a BatchError", err, err)
	}
	if se.Step != 1 || se.Module != "hostile" || se.Uses != "hostile" || se.Input != 1 || se.Offset != 1001 {
		t.Errorf("step error %+v", se)
	}
	for _, want := range []string{"transforms step 2 (uses hostile)", "transform hostile", "offset 1001", "hostile module fails on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if s := c.Stats()[1]; s.Errors != 1 || s.Skipped != 0 {
		t.Errorf("stats %+v", s)
	}
	// The chain goes on with the next batch.
	res, err = c.Process(context.Background(), batch("fine now"))
	if err != nil || !reflect.DeepEqual(valuesOf(res.Outputs), []string{"fine", "now"}) {
		t.Fatalf("next batch: %+v, %v", res, err)
	}
}

func TestChainPolicySkip(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{Policy: chain.Policy{Action: chain.Skip}}, hostileChain)
	res, err := c.Process(context.Background(), hostileBatch())
	if err != nil {
		t.Fatal(err)
	}
	// "a" of record 1 and "b" of record 3 go with their records.
	if got, want := valuesOf(res.Outputs), []string{"one", "two", "three", "four"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
	if got, want := inputsOf(res.Outputs), []int{0, 2, 4, 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inputs %v, want %v", got, want)
	}
	if res.Skipped != 2 || len(res.DeadLetters) != 0 {
		t.Errorf("skipped %d, dead letters %v", res.Skipped, res.DeadLetters)
	}
	st := c.Stats()
	if s := st[1]; s.Skipped != 2 || s.Errors != 2 || s.DeadLettered != 0 || s.RecordsOut != 4 {
		t.Errorf("step 2 stats %+v", s)
	}
	if s := st[0]; s.Skipped != 0 || s.Errors != 0 || s.RecordsOut != 9 {
		t.Errorf("step 1 stats %+v", s)
	}

	// A failing first and last record.
	res, err = c.Process(context.Background(), batch("panic", "x", "error"))
	if err != nil || !reflect.DeepEqual(valuesOf(res.Outputs), []string{"x"}) || !reflect.DeepEqual(inputsOf(res.Outputs), []int{1}) || res.Skipped != 2 {
		t.Fatalf("first and last failing: %+v, %v", res, err)
	}
	// Every record failing.
	res, err = c.Process(context.Background(), batch("error", "panic error"))
	if err != nil || len(res.Outputs) != 0 || res.Skipped != 2 {
		t.Fatalf("all failing: %+v, %v", res, err)
	}
}

func TestChainPolicyDeadLetter(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{Policy: chain.Policy{Action: chain.DeadLetter, Topic: "dlq"}}, hostileChain)
	in := hostileBatch()
	res, err := c.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := valuesOf(res.Outputs), []string{"one", "two", "three", "four"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
	if res.Skipped != 0 || len(res.DeadLetters) != 2 {
		t.Fatalf("skipped %d, dead letters %+v", res.Skipped, res.DeadLetters)
	}
	for i, want := range []struct {
		input int
		cause error
		text  string
	}{{1, engine.ErrModuleFailed, "fails on purpose"}, {3, engine.ErrModuleFailed, "panics on purpose"}} {
		dl := res.DeadLetters[i]
		var be *engine.BatchError
		if dl.Input != want.input || dl.Step != 1 || dl.Module != "hostile" || !errors.As(dl.Err, &be) ||
			!errors.Is(dl.Err, want.cause) || !strings.Contains(dl.Err.Error(), want.text) {
			t.Errorf("dead letter %d: %+v", i, dl)
		}
	}
	if s := c.Stats()[1]; s.DeadLettered != 2 || s.Skipped != 0 || s.Errors != 2 {
		t.Errorf("stats %+v", s)
	}

	// The record for the dead-letter topic: the original record, its own
	// headers first, then Skiff's.
	dl := res.DeadLetters[0]
	orig := in.Records[dl.Input]
	rec := chain.DeadLetterRecord(orig, dl, "in", 3, 1001)
	if string(rec.Key) != "k1" || string(rec.Value) != "a error c" || rec.TimestampDelta != orig.TimestampDelta || rec.OffsetDelta != orig.OffsetDelta {
		t.Errorf("dead-letter record %+v is not the original %+v", rec, orig)
	}
	got := map[string]string{}
	var order []string
	for _, h := range rec.Headers {
		got[h.Key] = string(h.Value)
		order = append(order, h.Key)
	}
	wantOrder := []string{"source", chain.HeaderError, chain.HeaderModule, chain.HeaderSourceTopic, chain.HeaderSourcePartition, chain.HeaderSourceOffset}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("header order %q, want %q", order, wantOrder)
	}
	if got["source"] != "s1" || got["skiff.module"] != "hostile" || got["skiff.source.topic"] != "in" ||
		got["skiff.source.partition"] != "3" || got["skiff.source.offset"] != "1001" ||
		!strings.HasPrefix(got["skiff.error"], "module failed: exit code 1") || !strings.Contains(got["skiff.error"], "hostile module fails on purpose") {
		t.Errorf("headers %q", got)
	}
	if len(orig.Headers) != 1 {
		t.Errorf("DeadLetterRecord changed the input's headers: %+v", orig.Headers)
	}
	// An error that is not the engine's is the header as it is.
	rec = chain.DeadLetterRecord(protocol.Record{}, chain.FailedRecord{Module: "m", Err: errors.New("plain")}, "t", 0, -1)
	if string(rec.Headers[0].Value) != "plain" || string(rec.Headers[4].Value) != "-1" {
		t.Errorf("headers %+v", rec.Headers)
	}
}

// TestChainPolicyTimeLimit: a record that makes a module spin is dropped
// by skip like any other failure; the instance that spun is replaced.
func TestChainPolicyTimeLimit(t *testing.T) {
	e := newEngine(t)
	c := newChain(t, e, chain.Config{Policy: chain.Policy{Action: chain.Skip}, BatchTimeout: 300 * time.Millisecond}, "transforms:\n  - uses: hostile\n")
	res, err := c.Process(context.Background(), batch("a", "spin", "b"))
	if err != nil || !reflect.DeepEqual(valuesOf(res.Outputs), []string{"a", "b"}) || res.Skipped != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestChainPolicyNotAboutARecord: failures that no record caused are
// errors whatever the policy.
func TestChainPolicyNotAboutARecord(t *testing.T) {
	e := newEngine(t)
	for _, p := range []chain.Policy{{Action: chain.Skip}, {Action: chain.DeadLetter, Topic: "dlq"}} {
		c := newChain(t, e, chain.Config{Policy: p}, hostileChain)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Process(ctx, hostileBatch())
		// Which step notices the cancelled context first is up to the
		// runners' selects; each says it is not about a record.
		var se *chain.StepError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Input != -1 || se.Offset != -1 {
			t.Errorf("%s, cancelled: %v", p, err)
		}
	}
}
