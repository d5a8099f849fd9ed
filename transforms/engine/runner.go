package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffstream/skiff/protocol"
	"github.com/tetratelabs/wazero"
)

// Environment variables the engine sets for every instance, as Redpanda does.
const (
	EnvInputTopic        = "REDPANDA_INPUT_TOPIC"
	EnvOutputTopicPrefix = "REDPANDA_OUTPUT_TOPIC_" // followed by 0..N-1
)

// RunnerConfig configures a Runner. Zero fields take the engine's defaults.
type RunnerConfig struct {
	// Env holds the deployment's parameters (Redpanda's --var, the `with:`
	// map of a transforms.yml step), each an environment variable of the
	// module. Keys may not contain '=' or NUL, nor be the topic variables.
	Env map[string]string
	// InputTopic is REDPANDA_INPUT_TOPIC.
	InputTopic string
	// OutputTopics are REDPANDA_OUTPUT_TOPIC_0..N-1; write_record writes to
	// the first, write_record_with_options to any by name. At least one.
	OutputTopics []string
	// MemoryLimit bounds the memory of each instance, in bytes.
	MemoryLimit int64
	// BatchTimeout bounds the time of one batch; a module still running
	// then is stopped.
	BatchTimeout time.Duration
	// MaxOutputBytes bounds the payload bytes a module may write for one
	// batch.
	MaxOutputBytes int
	// Instances is the number of instances that may run batches at once
	// (default 1). Each instance has its own memory, so a module that keeps
	// state across records (an aggregate) sees only the batches its
	// instance ran: keep 1 for those.
	Instances int
}

// Batch is the input of ProcessBatch: a batch header and its records,
// decompressed. The module reads len(Records) records, whatever
// Header.NumRecords says.
type Batch struct {
	Header  protocol.BatchHeader
	Records []protocol.Record
}

// ParseBatch reads the magic 2 batch at the start of b into a Batch,
// decompressing it (at most limit bytes). Records alias b.
func ParseBatch(b []byte, limit int) (Batch, error) {
	h, err := protocol.ParseBatchHeader(b)
	if err != nil {
		return Batch{}, err
	}
	records, err := protocol.ParseRecords(h, b, limit)
	if err != nil {
		return Batch{}, err
	}
	return Batch{Header: h, Records: records}, nil
}

// Runner runs batches through instances of a module with one
// configuration. Idle instances are kept for the next batch; an instance
// that fails is dropped and the next batch gets a fresh one. It is safe for
// concurrent use.
type Runner struct {
	m         *Module
	cfg       RunnerConfig
	log       *slog.Logger
	modConfig wazero.ModuleConfig
	topics    map[string]int

	slots chan struct{} // one per instance allowed to run
	mu    sync.Mutex
	idle  []*instance
	close bool
}

// NewRunner checks cfg, starts one instance and waits until the module has
// initialised and asks for its first batch, so that a module failing at
// start fails here.
func (m *Module) NewRunner(ctx context.Context, cfg RunnerConfig) (*Runner, error) {
	e := m.e
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = e.cfg.MemoryLimit
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = e.cfg.BatchTimeout
	}
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 1
	}
	if cfg.MemoryLimit > e.cfg.MaxMemoryLimit {
		return nil, fmt.Errorf("transform %s: memory limit %d is above the engine's maximum %d", m.name, cfg.MemoryLimit, e.cfg.MaxMemoryLimit)
	}
	if need := int64(m.c.minPages) * wasmPageSize; need > cfg.MemoryLimit {
		return nil, fmt.Errorf("transform %s: %w: the module needs %d bytes of memory to start, the limit is %d", m.name, ErrMemoryLimit, need, cfg.MemoryLimit)
	}
	modConfig, topics, err := moduleConfig(m.name, cfg)
	if err != nil {
		return nil, fmt.Errorf("transform %s: %w", m.name, err)
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("transform %s: module %w", m.name, ErrClosed)
	}
	r := &Runner{
		m:         m,
		cfg:       cfg,
		log:       e.cfg.Logger,
		modConfig: modConfig,
		topics:    topics,
		slots:     make(chan struct{}, cfg.Instances),
	}
	inst, err := r.newInstance()
	if err != nil {
		return nil, err
	}
	if err := inst.waitReady(ctx, cfg.BatchTimeout); err != nil {
		inst.stop()
		return nil, fmt.Errorf("start transform %s: %w", m.name, err)
	}
	r.idle = append(r.idle, inst)
	return r, nil
}

// moduleConfig builds the wazero module configuration shared by a runner's
// instances: environment, clocks and randomness, no file system, no start
// function (the engine calls _start itself). Sleeping returns at once
// (wazero's default): a transform has no reason to sleep, and a sleep could
// not be interrupted.
func moduleConfig(name string, cfg RunnerConfig) (wazero.ModuleConfig, map[string]int, error) {
	if len(cfg.OutputTopics) == 0 {
		return nil, nil, fmt.Errorf("no output topic: a transform needs at least one")
	}
	topics := make(map[string]int, len(cfg.OutputTopics))
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithArgs(name).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithEnv(EnvInputTopic, cfg.InputTopic)
	for i, t := range cfg.OutputTopics {
		if t == "" {
			return nil, nil, fmt.Errorf("output topic %d has no name", i)
		}
		if _, dup := topics[t]; dup {
			return nil, nil, fmt.Errorf("output topic %q is listed twice", t)
		}
		topics[t] = i
		mc = mc.WithEnv(EnvOutputTopicPrefix+strconv.Itoa(i), t)
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return nil, nil, fmt.Errorf("parameter name %q: it must be non-empty without '=' or NUL", k)
		case strings.ContainsRune(cfg.Env[k], 0):
			return nil, nil, fmt.Errorf("parameter %s: the value contains NUL", k)
		case k == EnvInputTopic || strings.HasPrefix(k, EnvOutputTopicPrefix):
			return nil, nil, fmt.Errorf("parameter %s: the name is reserved for the engine's topic variables", k)
		}
		mc = mc.WithEnv(k, cfg.Env[k])
	}
	return mc, topics, nil
}

// Config returns the runner's configuration with defaults applied.
func (r *Runner) Config() RunnerConfig { return r.cfg }

// ProcessBatch runs one batch through the module and returns what it
// wrote, in order. On failure the error is a *BatchError (or ctx's error)
// and the outputs are those of the records before the failing one; the
// instance is dropped.
func (r *Runner) ProcessBatch(ctx context.Context, b Batch) ([]Output, error) {
	inst, err := r.acquire(ctx)
	if err != nil {
		return nil, err
	}
	outs, err := inst.process(ctx, &b)
	r.release(inst)
	return outs, err
}

// acquire takes a slot and an idle instance, or starts one.
func (r *Runner) acquire(ctx context.Context) (*instance, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	if r.close {
		r.mu.Unlock()
		<-r.slots
		return nil, fmt.Errorf("transform %s: runner %w", r.m.name, ErrClosed)
	}
	if n := len(r.idle); n > 0 {
		inst := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		return inst, nil
	}
	r.mu.Unlock()
	inst, err := r.newInstance()
	if err != nil {
		<-r.slots
		return nil, err
	}
	return inst, nil
}

// release returns a usable instance to the idle list and stops others.
func (r *Runner) release(inst *instance) {
	r.mu.Lock()
	keep := !r.close && inst.usable()
	if keep {
		r.idle = append(r.idle, inst)
	}
	r.mu.Unlock()
	if !keep {
		inst.stop()
	}
	<-r.slots
}

// Close waits for batches in flight and stops every instance.
func (r *Runner) Close() error {
	for range cap(r.slots) {
		r.slots <- struct{}{}
	}
	r.mu.Lock()
	idle := r.idle
	r.idle, r.close = nil, true
	r.mu.Unlock()
	for _, inst := range idle {
		inst.stop()
	}
	for range cap(r.slots) {
		<-r.slots
	}
	return nil
}
