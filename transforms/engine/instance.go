package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one running module: its `_start` runs in a goroutine of its
// own and blocks inside read_batch_header between batches.
//
// Fields below "guest state" are touched only by that goroutine while it
// runs, and by others only after a handoff (job.done closed, or exited
// closed), which orders the accesses.
type instance struct {
	r      *Runner
	mod    api.Module
	mem    *limitedMemory
	stdout *logWriter
	stderr *logWriter
	cancel context.CancelFunc

	jobs      chan *job     // unbuffered: a batch handed to read_batch_header
	ready     chan struct{} // closed at the first read_batch_header
	readyOnce sync.Once
	exited    chan struct{} // closed when _start has returned
	exitErr   error         // what _start returned; read after exited
	timedOut  atomic.Bool
	stopping  atomic.Bool // the module is to end at its next host call

	// guest state
	job        *job
	next       int   // index of the next record read_next_record returns
	fault      error // first ABI violation or bad write
	faultIndex int   // the record being processed at the fault
}

// job is one batch in flight.
type job struct {
	batch    *Batch
	outs     []Output
	outBytes int
	arena    []byte        // the current chunk the outputs' bytes are cut from
	done     chan struct{} // closed when the module asks for the next batch
}

// arenaChunk is the size of the chunks small outputs are cut from: one
// allocation for hundreds of records instead of one each.
const arenaChunk = 64 << 10

// alloc returns n bytes for an output's payload: cut from the job's chunk
// for a small one, allocated alone for a large one.
func (j *job) alloc(n int) []byte {
	if n > arenaChunk/8 {
		return make([]byte, n)
	}
	if cap(j.arena)-len(j.arena) < n {
		j.arena = make([]byte, 0, arenaChunk)
	}
	at := len(j.arena)
	j.arena = j.arena[:at+n]
	return j.arena[at : at+n : at+n]
}

// exitCodeAborted is the exit code the engine closes a module with when it
// breaks the ABI. The cause is in instance.fault.
const exitCodeAborted = 134

func (r *Runner) newInstance() (*instance, error) {
	inst := &instance{
		r:      r,
		mem:    &limitedMemory{limit: uint64(r.cfg.MemoryLimit)},
		stdout: newLogWriter(r.log, slog.LevelInfo, r.m.name, "stdout"),
		stderr: newLogWriter(r.log, slog.LevelWarn, r.m.name, "stderr"),
		jobs:   make(chan *job),
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
	}
	// The instance outlives the call that starts it, so its context is
	// its own. Cancelling it ends a module waiting in read_batch_header;
	// interrupt also ends running code, at its next host call (see
	// interrupt.go).
	ctx, cancel := context.WithCancel(context.Background())
	ctx = context.WithValue(ctx, instanceKey{}, inst)
	ctx = experimental.WithMemoryAllocator(ctx, inst.mem.allocator())
	inst.cancel = cancel
	cfg := r.modConfig.WithStdout(inst.stdout).WithStderr(inst.stderr)
	mod, err := r.m.e.runtime.InstantiateModule(ctx, r.m.c.mod, cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start transform %s: %w", r.m.name, err)
	}
	inst.mod = mod
	start := mod.ExportedFunction("_start")
	go func() {
		_, err := start.Call(ctx)
		inst.exitErr = err
		inst.stdout.flush()
		inst.stderr.flush()
		_ = mod.Close(context.Background())
		cancel()
		close(inst.exited)
	}()
	return inst, nil
}

// waitReady waits until the module has initialised and asks for its first
// batch, so that a module failing at start fails NewRunner.
func (inst *instance) waitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-inst.ready:
		return nil
	case <-inst.exited:
		return inst.failure().Err
	case <-t.C:
		inst.timedOut.Store(true)
		inst.stop()
		return fmt.Errorf("%w: the module did not ask for a batch within %s of starting", ErrTimeLimit, timeout)
	case <-ctx.Done():
		inst.stop()
		return ctx.Err()
	}
}

// process runs one batch. The time limit covers waiting for the module to
// take the batch (its start, for a fresh instance) and processing it.
func (inst *instance) process(ctx context.Context, b *Batch) ([]Output, error) {
	j := &job{batch: b, done: make(chan struct{}), outs: make([]Output, 0, len(b.Records))}
	inst.stdout.newBatch()
	inst.stderr.newBatch()
	timer := time.AfterFunc(inst.r.cfg.BatchTimeout, func() {
		inst.timedOut.Store(true)
		inst.interrupt()
	})
	defer timer.Stop()
	select {
	case inst.jobs <- j:
	case <-inst.exited:
		return nil, inst.failure()
	case <-ctx.Done():
		inst.stop()
		return nil, ctx.Err()
	}
	select {
	case <-j.done:
		return j.outs, nil
	case <-inst.exited:
		err := inst.failure()
		return outputsBefore(j.outs, err.Record), err
	case <-ctx.Done():
		inst.stop()
		return nil, ctx.Err()
	}
}

// outputsBefore keeps the outputs of the input records before index i.
func outputsBefore(outs []Output, i int) []Output {
	n := 0
	for n < len(outs) && outs[n].Input < i {
		n++
	}
	return outs[:n]
}

// usable reports whether the instance can take another batch.
func (inst *instance) usable() bool {
	select {
	case <-inst.exited:
		return false
	default:
		return !inst.timedOut.Load()
	}
}

// interrupt stops the module: running code ends at its next host call
// (which the instrumentation makes frequent), and a module waiting for a
// batch returns.
func (inst *instance) interrupt() {
	inst.stopping.Store(true)
	inst.cancel()
}

// stop interrupts the module and waits for its goroutine to end.
func (inst *instance) stop() {
	inst.interrupt()
	<-inst.exited
}

// failure explains why the instance exited. Call it after exited is closed.
func (inst *instance) failure() *BatchError {
	index := inst.next - 1
	var cause error
	switch {
	case inst.fault != nil:
		cause, index = inst.fault, inst.faultIndex
	case inst.mem.hit.Load():
		cause = fmt.Errorf("%w: the module asked for more than its %d bytes", ErrMemoryLimit, inst.r.cfg.MemoryLimit)
	case inst.timedOut.Load():
		cause = fmt.Errorf("%w: the module ran for more than %s", ErrTimeLimit, inst.r.cfg.BatchTimeout)
	default:
		var exit *sys.ExitError
		switch {
		case inst.exitErr == nil:
			cause = fmt.Errorf("%w: _start returned", ErrModuleExited)
		case errors.As(inst.exitErr, &exit) && exit.ExitCode() == 0:
			cause = fmt.Errorf("%w with code 0", ErrModuleExited)
		case errors.As(inst.exitErr, &exit):
			cause = fmt.Errorf("%w: exit code %d", ErrModuleFailed, exit.ExitCode())
		default:
			msg, _, _ := strings.Cut(inst.exitErr.Error(), "\n")
			cause = fmt.Errorf("%w: %s", ErrTrap, msg)
		}
	}
	if line := inst.stderr.summary(); line != "" {
		cause = fmt.Errorf("%w; stderr: %s", cause, line)
	}
	e := &BatchError{Module: inst.r.m.name, Record: -1, Offset: -1, Err: cause}
	if j := inst.job; j != nil && index >= 0 && index < len(j.batch.Records) {
		e.Record = index
		e.Offset = j.batch.Header.BaseOffset + int64(j.batch.Records[index].OffsetDelta)
	}
	return e
}

// checkFault ends a module that calls the host again after a bad write or
// after it was interrupted.
func (inst *instance) checkFault(ctx context.Context, mod api.Module) {
	if inst.fault != nil || inst.stopping.Load() {
		inst.exit(ctx, mod, exitCodeAborted)
	}
}

// badWrite records a bad write. The module gets an error code back and is
// ended at its next host call (or by the time limit).
func (inst *instance) badWrite(err error) {
	if inst.fault == nil {
		inst.fault, inst.faultIndex = err, inst.next-1
	}
}

// abort ends the module at once for breaking the ABI.
func (inst *instance) abort(ctx context.Context, mod api.Module, err error) {
	inst.badWrite(err)
	inst.exit(ctx, mod, exitCodeAborted)
}

// exit ends the module from inside a host function, as WASI proc_exit does.
func (inst *instance) exit(ctx context.Context, mod api.Module, code uint32) {
	_ = mod.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}
