package engine

import (
	"errors"
	"fmt"
)

// Errors a Load returns, wrapped with details.
var (
	// ErrModuleTooLarge reports a module above Config.MaxModuleSize.
	ErrModuleTooLarge = errors.New("module too large")

	// ErrNotTransform reports a module that is valid WebAssembly but does not
	// speak the transform ABI: it lacks `_start` or `memory`, imports neither
	// check_abi_version_1 nor check_abi_version_2, or imports a function the
	// engine does not provide.
	ErrNotTransform = errors.New("not a transform module")
)

// Errors a runner returns, wrapped in a *BatchError (or, from NewRunner,
// wrapped with details). Each one means the instance that met it was
// discarded; the next batch runs on a fresh instance.
var (
	// ErrTimeLimit reports a batch that took longer than the batch time
	// limit, for example a module in an endless loop.
	ErrTimeLimit = errors.New("batch time limit exceeded")

	// ErrMemoryLimit reports a module that tried to grow its memory beyond
	// the instance's memory limit.
	ErrMemoryLimit = errors.New("memory limit exceeded")

	// ErrTrap reports a WebAssembly trap: unreachable, an out-of-bounds
	// access, a division by zero, a stack overflow.
	ErrTrap = errors.New("module trapped")

	// ErrModuleFailed reports a module that exited with a non-zero code, as
	// a Go module does when it panics or calls os.Exit(1).
	ErrModuleFailed = errors.New("module failed")

	// ErrModuleExited reports a module that exited with code 0 while the
	// engine still expected it to read batches.
	ErrModuleExited = errors.New("module exited")

	// ErrBadRecord reports a record written by the module (write_record)
	// whose encoding is not the key/value/headers tail of a Kafka record.
	ErrBadRecord = errors.New("module wrote an invalid record")

	// ErrUnknownTopic reports a write (write_record_with_options) to a topic
	// that is not one of the runner's output topics.
	ErrUnknownTopic = errors.New("module wrote to a topic that is not an output")

	// ErrBadOptions reports write options that do not parse.
	ErrBadOptions = errors.New("module passed invalid write options")

	// ErrBadPointer reports a pointer (or pointer and length) passed to a
	// host function that does not lie inside the module's memory.
	ErrBadPointer = errors.New("module passed a pointer outside its memory")

	// ErrOutputLimit reports a batch whose output exceeded
	// RunnerConfig.MaxOutputBytes.
	ErrOutputLimit = errors.New("batch output limit exceeded")

	// ErrClosed reports a call on a closed runner, module or engine.
	ErrClosed = errors.New("closed")
)

// BatchError is the error of a batch that did not complete. Outputs returned
// with it are those of the input records before Record; the outputs of
// Record itself, if any, are dropped. A caller that skips bad records can
// resume with the records after Record.
type BatchError struct {
	Module string
	// Record is the index in Batch.Records of the record the module was
	// processing when it failed: the last one it read. It is -1 when the
	// module failed before reading any record of the batch.
	Record int
	// Offset is the absolute offset of Record (BaseOffset + OffsetDelta), or
	// -1 when Record is -1.
	Offset int64
	// Err is one of the Err* values of this package, wrapped with details
	// such as the last lines the module wrote to stderr.
	Err error
}

func (e *BatchError) Error() string {
	if e.Record < 0 {
		return fmt.Sprintf("transform %s: before the first record: %v", e.Module, e.Err)
	}
	return fmt.Sprintf("transform %s: record at offset %d: %v", e.Module, e.Offset, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }
