package chain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
)

// Result is what a batch became.
type Result struct {
	// Outputs are the last step's records, in order. Input is the index in
	// the original batch's Records of the record each one came from (-1
	// for a record a module wrote before reading any), Topic indexes
	// Config.OutputTopics, and the record's TimestampDelta and OffsetDelta
	// are those of that original record.
	Outputs []engine.Output
	// DeadLetters lists the input records dropped under policy
	// dead-letter, in order, for the caller to write to the policy's topic.
	DeadLetters []FailedRecord
	// Skipped counts the input records dropped under policy skip.
	Skipped int
}

// FailedRecord is an input record a step failed on. (It is not named
// DeadLetter, the policy's Action.)
type FailedRecord struct {
	Input  int    // index in the original batch's Records
	Step   int    // index of the failing step in Spec.Steps
	Module string // the failing step's module
	Err    error  // the *engine.BatchError
}

// StepError is the error of a batch a step failed: under policy fail any
// failure, under the others one that is not about a record (a module that
// dies at start, a closed chain, a cancelled context). errors.As finds the
// *engine.BatchError inside when there is one.
type StepError struct {
	Step   int    // index in Spec.Steps
	Uses   string // the step's `uses:`
	Module string
	// Input is the index in the original batch's Records of the record the
	// module failed on, and Offset that record's offset; both are -1 when
	// the failure is not about a record.
	Input  int
	Offset int64
	Err    error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("transforms step %d (uses %s): %v", e.Step+1, e.Uses, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Process runs a batch through the chain. Each step's input is the
// previous step's outputs, as records of a batch with b's header that keep
// their original offset and timestamp deltas, so every module sees the
// original offsets and timestamps.
//
// When a module fails on a record, policy fail returns a *StepError and no
// outputs. Policies skip and dead-letter drop the original input record the
// failing one came from (everything derived from it, at every step), keep
// the outputs of the records before it and go on with the records after
// it, on a fresh instance of the module.
//
// # Notes
//
//   - A module that fails loses the state kept in its instance: an
//     aggregate restarts from its initial value after a skipped record.
//   - Records a step never sees (all filtered out before it) cost it
//     nothing: an empty input does not call the module.
func (c *Chain) Process(ctx context.Context, b engine.Batch) (*Result, error) {
	return c.process(ctx, b, true)
}

// Warm runs batches through the chain and discards what comes out, dead
// letters included (those records were handled when they first came): the
// caller replays the records its Spec's Lookback asks for, so that
// aggregates start from the state they make. Replayed records are not
// counted in Stats.
func (c *Chain) Warm(ctx context.Context, batches []engine.Batch) error {
	for _, b := range batches {
		if _, err := c.process(ctx, b, false); err != nil {
			return fmt.Errorf("replay lookback records: %w", err)
		}
	}
	return nil
}

func (c *Chain) process(ctx context.Context, b engine.Batch, count bool) (*Result, error) {
	res := &Result{}
	in := b.Records
	var origin []int // origin[i] is the index in b.Records that in[i] came from; nil: i itself
	var outs []engine.Output
	for _, s := range c.steps {
		if len(in) == 0 {
			return res, nil
		}
		var err error
		outs, err = c.runStep(ctx, s, b.Header, in, origin, res, count)
		if err != nil {
			return nil, err
		}
		if s.index == len(c.steps)-1 {
			break
		}
		in = make([]protocol.Record, len(outs))
		origin = make([]int, len(outs))
		for i := range outs {
			in[i], origin[i] = outs[i].Record, outs[i].Input
		}
	}
	res.Outputs = outs
	return res, nil
}

// runStep runs one step over in, resuming after each record the policy
// drops. The outputs it returns have Input mapped to the original batch.
func (c *Chain) runStep(ctx context.Context, s *step, h protocol.BatchHeader, in []protocol.Record, origin []int, res *Result, count bool) ([]engine.Output, error) {
	originOf := func(i int) int {
		if origin == nil {
			return i
		}
		return origin[i]
	}
	var kept []engine.Output
	for start := 0; start < len(in); {
		t0 := time.Now()
		outs, err := s.runner.ProcessBatch(ctx, engine.Batch{Header: h, Records: in[start:]})
		if count {
			s.stats.nanos.Add(int64(time.Since(t0)))
		}
		if err == nil {
			if count {
				s.count(in[start:], outs)
			}
			if start == 0 && origin == nil {
				return outs, nil // Input is already the original index
			}
			return appendMapped(kept, outs, start, originOf), nil
		}
		if count {
			s.stats.errors.Add(1)
		}
		var be *engine.BatchError
		if !errors.As(err, &be) || be.Record < 0 || c.cfg.Policy.Action == Fail {
			return nil, c.stepError(s, err, be, start, originOf)
		}
		failed := start + be.Record
		orig := originOf(failed)
		if orig < 0 {
			return nil, c.stepError(s, fmt.Errorf("%w (a record the step before wrote before reading any input, so there is no input record to drop)", err), be, start, originOf)
		}
		// Records of in that came from the same original record are next
		// to each other, and a resume point never splits them: drop them
		// all, with what the module wrote for those before the failing one.
		lo, hi := failed, failed+1
		for lo > start && originOf(lo-1) == orig {
			lo--
		}
		for hi < len(in) && originOf(hi) == orig {
			hi++
		}
		before := outputsBefore(outs, lo-start)
		kept = appendMapped(kept, before, start, originOf)
		if count {
			s.count(in[start:lo], before)
			s.stats.recordsIn.Add(int64(failed + 1 - lo))
		}
		c.drop(s, be, orig, res, count)
		start = hi
	}
	return kept, nil
}

// drop applies policy skip or dead-letter to original record orig.
func (c *Chain) drop(s *step, be *engine.BatchError, orig int, res *Result, count bool) {
	if c.cfg.Policy.Action == DeadLetter {
		res.DeadLetters = append(res.DeadLetters, FailedRecord{Input: orig, Step: s.index, Module: s.name, Err: be})
		if count {
			s.stats.deadLettered.Add(1)
		}
	} else {
		res.Skipped++
		if count {
			s.stats.skipped.Add(1)
		}
	}
	c.log.Warn("transform failed on a record; the record is dropped by the error policy",
		"policy", c.cfg.Policy.String(), "step", s.index+1, "module", s.name, "offset", be.Offset, "error", be.Err)
}

func (c *Chain) stepError(s *step, err error, be *engine.BatchError, start int, originOf func(int) int) *StepError {
	e := &StepError{Step: s.index, Uses: s.uses, Module: s.name, Input: -1, Offset: -1, Err: err}
	if be != nil && be.Record >= 0 {
		e.Input, e.Offset = originOf(start+be.Record), be.Offset
	}
	return e
}

// appendMapped appends outs, whose Input indexes in[start:], with Input
// mapped to the original batch.
func appendMapped(dst, outs []engine.Output, start int, originOf func(int) int) []engine.Output {
	for _, o := range outs {
		if o.Input >= 0 {
			o.Input = originOf(start + o.Input)
		}
		dst = append(dst, o)
	}
	return dst
}

// outputsBefore keeps the outputs of the input records before index i.
// Outputs come in input order.
func outputsBefore(outs []engine.Output, i int) []engine.Output {
	n := 0
	for n < len(outs) && outs[n].Input < i {
		n++
	}
	return outs[:n]
}

// count adds a run of the module over in, which wrote outs, to the
// step's counters.
func (s *step) count(in []protocol.Record, outs []engine.Output) {
	var bytesIn, bytesOut int64
	for i := range in {
		bytesIn += int64(protocol.RecordPayloadSize(&in[i]))
	}
	answered, last := 0, -1 // input records with at least one output
	for i := range outs {
		bytesOut += int64(protocol.RecordPayloadSize(&outs[i].Record))
		if in := outs[i].Input; in >= 0 && in != last {
			answered, last = answered+1, in
		}
	}
	k := &s.stats
	k.recordsIn.Add(int64(len(in)))
	k.recordsOut.Add(int64(len(outs)))
	k.dropped.Add(int64(len(in) - answered))
	k.bytesIn.Add(bytesIn)
	k.bytesOut.Add(bytesOut)
}
