package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/skiffstream/skiff/transforms/engine"
)

// Resolve maps a `uses:` name (a stored module's name, a built-in,
// infinyon/jolt@0.4.1...) to the module's name and bytes. Its errors reach
// the user as they are, after the step they concern: say what to do.
type Resolve func(ctx context.Context, uses string) (name string, wasm []byte, err error)

// Native may run a module Resolve found as Go code instead of WebAssembly:
// for a module it knows (the built-ins, see builtin.NewNative) it returns a
// Runner that gives what the module's WebAssembly would, and the module's
// kind; for any other it returns ok false. env is the step's parameters.
type Native func(name string, wasm []byte, env map[string]string) (r Runner, kind Kind, ok bool, err error)

// Runner runs a step's module over batches, as *engine.Runner does.
type Runner interface {
	ProcessBatch(ctx context.Context, b engine.Batch) ([]engine.Output, error)
	Close() error
}

// Config configures a Chain.
type Config struct {
	Engine  *engine.Engine
	Resolve Resolve
	Native  Native // nil: every step runs as WebAssembly
	// InputTopic and OutputTopics are every step's topic variables
	// (REDPANDA_INPUT_TOPIC, REDPANDA_OUTPUT_TOPIC_n). At least one output.
	// At produce time and for a view both are the topic itself. What a
	// step before the last writes, to any output, is the next step's
	// input.
	InputTopic   string
	OutputTopics []string
	Policy       Policy
	MemoryLimit  int64         // per instance; 0: the engine's default
	BatchTimeout time.Duration // per step and batch; 0: the engine's default
	// Logger receives a line per record skipped or dead-lettered. Nil
	// means slog.Default().
	Logger *slog.Logger
}

// Chain runs a Spec's steps over batches, each step's outputs feeding the
// next. It is safe for concurrent use.
type Chain struct {
	cfg   Config
	log   *slog.Logger
	steps []*step
}

// step is a running step of a chain.
type step struct {
	index  int
	uses   string
	name   string // the module's, as Resolve gave it
	kind   Kind
	module *engine.Module // nil for a native step
	runner Runner
	stats  stepCounters
}

// New loads every step's module, learns its kind and starts its runner. A
// step whose module keeps state (an aggregate, or any module that is not
// known to be stateless) runs in one instance, so its state sees every
// record; stateless steps run up to GOMAXPROCS batches at once. Errors name
// the step.
func New(ctx context.Context, cfg Config, spec *Spec) (*Chain, error) {
	switch {
	case cfg.Engine == nil:
		return nil, errors.New("transforms chain: no engine")
	case cfg.Resolve == nil:
		return nil, errors.New("transforms chain: no module resolver")
	case len(cfg.OutputTopics) == 0:
		return nil, errors.New("transforms chain: no output topic; a chain needs at least one")
	case spec == nil || len(spec.Steps) == 0:
		return nil, errors.New("transforms chain: no steps; list at least one module")
	}
	if cfg.Policy.Action == DeadLetter {
		if err := checkTopicName(cfg.Policy.Topic); err != nil {
			return nil, fmt.Errorf("transforms chain: dead-letter topic: %v", err)
		}
	}
	c := &Chain{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	for i, st := range spec.Steps {
		s, err := c.startStep(ctx, i, st)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("transforms step %d (uses %s): %w", i+1, st.Uses, err)
		}
		c.steps = append(c.steps, s)
	}
	return c, nil
}

func (c *Chain) startStep(ctx context.Context, i int, st Step) (*step, error) {
	name, wasm, err := c.cfg.Resolve(ctx, st.Uses)
	if err != nil {
		return nil, err
	}
	if c.cfg.Native != nil {
		r, kind, ok, err := c.cfg.Native(name, wasm, st.With)
		if err != nil {
			return nil, err
		}
		if ok {
			return &step{index: i, uses: st.Uses, name: name, kind: kind, runner: r}, nil
		}
	}
	m, err := c.cfg.Engine.Load(ctx, name, wasm)
	if err != nil {
		return nil, err
	}
	rc := engine.RunnerConfig{
		Env:          st.With,
		InputTopic:   c.cfg.InputTopic,
		OutputTopics: c.cfg.OutputTopics,
		MemoryLimit:  c.cfg.MemoryLimit,
		BatchTimeout: c.cfg.BatchTimeout,
	}
	kind, err := describe(ctx, m, rc)
	if err != nil {
		m.Close(ctx)
		return nil, err
	}
	rc.Instances = 1
	if kind.Stateless() {
		rc.Instances = runtime.GOMAXPROCS(0)
	}
	r, err := m.NewRunner(ctx, rc)
	if err != nil {
		m.Close(ctx)
		return nil, err
	}
	return &step{index: i, uses: st.Uses, name: name, kind: kind, module: m, runner: r}, nil
}

// Kinds returns each step's kind, in order.
func (c *Chain) Kinds() []Kind {
	ks := make([]Kind, len(c.steps))
	for i, s := range c.steps {
		ks[i] = s.kind
	}
	return ks
}

// MaxOutputsPerInput returns the most records the chain writes for one
// input record: the product over its steps, or -1 if a step has no bound.
// A view refuses a chain for which it is not 1.
func (c *Chain) MaxOutputsPerInput() int {
	n := 1
	for _, s := range c.steps {
		m := s.kind.MaxOutputsPerInput()
		if m < 0 {
			return -1
		}
		n *= m
	}
	return n
}

// Policy returns the chain's error policy.
func (c *Chain) Policy() Policy { return c.cfg.Policy }

// Close stops every step's instances and releases its module. Batches in
// flight finish first; later ones fail with engine.ErrClosed.
func (c *Chain) Close() error {
	for _, s := range c.steps {
		s.runner.Close()
		if s.module != nil {
			s.module.Close(context.Background())
		}
	}
	return nil
}

// StepStats are a step's counters since the chain started. Records
// replayed by Warm are not counted.
type StepStats struct {
	Step   int    // index in Spec.Steps
	Uses   string // the step's `uses:`
	Module string // the name Resolve gave
	Kind   Kind

	RecordsIn    int64 // records given to the module
	RecordsOut   int64 // records it wrote that the chain kept
	Dropped      int64 // records it wrote nothing for (filtered out)
	Skipped      int64 // records it failed on, dropped by policy skip
	DeadLettered int64 // records it failed on, dropped by policy dead-letter
	Errors       int64 // failures, under every policy (one per failed record or batch)
	BytesIn      int64 // key, value and header bytes of RecordsIn
	BytesOut     int64 // the same of RecordsOut
	Time         time.Duration
}

type stepCounters struct {
	recordsIn, recordsOut, dropped, skipped, deadLettered, errors atomic.Int64
	bytesIn, bytesOut, nanos                                      atomic.Int64
}

// Stats returns each step's counters, in order.
func (c *Chain) Stats() []StepStats {
	out := make([]StepStats, len(c.steps))
	for i, s := range c.steps {
		k := &s.stats
		out[i] = StepStats{
			Step: i, Uses: s.uses, Module: s.name, Kind: s.kind,
			RecordsIn: k.recordsIn.Load(), RecordsOut: k.recordsOut.Load(), Dropped: k.dropped.Load(),
			Skipped: k.skipped.Load(), DeadLettered: k.deadLettered.Load(), Errors: k.errors.Load(),
			BytesIn: k.bytesIn.Load(), BytesOut: k.bytesOut.Load(), Time: time.Duration(k.nanos.Load()),
		}
	}
	return out
}
