package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// maxRunOnceLines bounds the stdout lines RunOnce keeps; each line is
// already cut at maxLogLine bytes and the whole run at maxLogPerBatch.
const maxRunOnceLines = 1024

// RunOnceResult is what a module did when run once outside a runner.
type RunOnceResult struct {
	// Stdout holds the lines the module wrote to standard output, without
	// their newlines. They are not sent to the engine's log.
	Stdout []string
	// AskedForBatch reports that the module called read_batch_header, as a
	// transform does once it has initialised; RunOnce stopped it there.
	// False means the module ended by itself with exit code 0.
	AskedForBatch bool
}

// RunOnce starts one instance of the module with cfg's environment and
// limits (Instances is ignored), lets it run until it exits or asks for
// its first batch, and returns what it printed. It is how a caller asks a
// module something at deploy time, such as the kind of an SDK module (its
// SDK answers on stdout and exits when an environment variable asks it
// to), without feeding it records.
//
// A module that fails (a non-zero exit, a trap, a limit) returns an error
// wrapping one of the Err* values, with the stderr line that explains it. A
// module still running after cfg.BatchTimeout is stopped with ErrTimeLimit.
//
// # Notes
//
//   - A Redpanda SDK module has no such question to answer: it initialises
//     and asks for a batch, which RunOnce reports as AskedForBatch. No
//     deadline is involved, so the answer does not depend on the
//     machine's speed.
//   - What the module writes to stderr goes to the engine's log, as for a
//     runner's instances.
func (m *Module) RunOnce(ctx context.Context, cfg RunnerConfig) (RunOnceResult, error) {
	e := m.e
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = e.cfg.MemoryLimit
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = e.cfg.BatchTimeout
	}
	cfg.Instances = 1
	if cfg.MemoryLimit > e.cfg.MaxMemoryLimit {
		return RunOnceResult{}, fmt.Errorf("run transform %s: memory limit %d is above the engine's maximum %d", m.name, cfg.MemoryLimit, e.cfg.MaxMemoryLimit)
	}
	if need := int64(m.c.minPages) * wasmPageSize; need > cfg.MemoryLimit {
		return RunOnceResult{}, fmt.Errorf("run transform %s: %w: the module needs %d bytes of memory to start, the limit is %d", m.name, ErrMemoryLimit, need, cfg.MemoryLimit)
	}
	modConfig, topics, err := moduleConfig(m.name, cfg)
	if err != nil {
		return RunOnceResult{}, fmt.Errorf("run transform %s: %w", m.name, err)
	}
	// The instance machinery sends stdout to the runner's logger a line at
	// a time; a logger that keeps those lines is how RunOnce reads them.
	capture := &stdoutCapture{next: e.cfg.Logger.Handler(), lines: &capturedLines{}}
	r := &Runner{
		m:         m,
		cfg:       cfg,
		log:       slog.New(capture),
		modConfig: modConfig,
		topics:    topics,
		slots:     make(chan struct{}, 1),
	}
	inst, err := r.newInstance()
	if err != nil {
		return RunOnceResult{}, err
	}
	timer := time.AfterFunc(cfg.BatchTimeout, func() {
		inst.timedOut.Store(true)
		inst.interrupt()
	})
	defer timer.Stop()
	var res RunOnceResult
	select {
	case <-inst.ready:
		res.AskedForBatch = true
		inst.stop()
	case <-inst.exited:
		if err := inst.exitedCleanly(); err != nil {
			return RunOnceResult{}, fmt.Errorf("run transform %s: %w", m.name, err)
		}
	case <-ctx.Done():
		inst.stop()
		return RunOnceResult{}, ctx.Err()
	}
	res.Stdout = capture.lines.take()
	return res, nil
}

// exitedCleanly returns nil if the instance ended with exit code 0 (or
// _start returned) without breaking a rule, and otherwise why it failed.
// Call it after exited is closed.
func (inst *instance) exitedCleanly() error {
	var exit *sys.ExitError
	clean := inst.exitErr == nil || (errors.As(inst.exitErr, &exit) && exit.ExitCode() == 0)
	if clean && inst.fault == nil && !inst.timedOut.Load() && !inst.mem.hit.Load() {
		return nil
	}
	return inst.failure().Err
}

// stdoutCapture is a slog.Handler that keeps the records of a module's
// stdout and passes every other record on.
type stdoutCapture struct {
	next  slog.Handler
	lines *capturedLines
}

type capturedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *capturedLines) add(s string) {
	l.mu.Lock()
	if len(l.lines) < maxRunOnceLines {
		l.lines = append(l.lines, s)
	}
	l.mu.Unlock()
}

func (l *capturedLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines
}

func (h *stdoutCapture) Enabled(ctx context.Context, level slog.Level) bool {
	return level == slog.LevelInfo || h.next.Enabled(ctx, level)
}

func (h *stdoutCapture) Handle(ctx context.Context, rec slog.Record) error {
	// The stdout writer logs lines at Info; its Warn that output was
	// dropped goes to the log.
	stdout := false
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "stream" && a.Value.String() == "stdout" {
			stdout = true
			return false
		}
		return true
	})
	if stdout && rec.Level == slog.LevelInfo {
		h.lines.add(rec.Message)
		return nil
	}
	if !h.next.Enabled(ctx, rec.Level) {
		return nil
	}
	return h.next.Handle(ctx, rec)
}

func (h *stdoutCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &stdoutCapture{next: h.next.WithAttrs(attrs), lines: h.lines}
}

func (h *stdoutCapture) WithGroup(name string) slog.Handler {
	return &stdoutCapture{next: h.next.WithGroup(name), lines: h.lines}
}
