package builtin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/builtin/funcs"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
	"github.com/skiffstream/skiff/transforms/sdk"
)

// The broker runs the built-in modules natively: they are Go code shipped
// in the binary, trusted like the rest of it, and the WebAssembly sandbox
// makes them 15 to 20 times slower (a Go regexp runs about ten times
// slower compiled to WebAssembly, and each record crosses into the module
// and back). The record functions are the very code the WebAssembly builds
// run (package funcs), and the tests run every case both ways.
//
// A Native answers like an engine.Runner: the same outputs, the same
// BatchErrors (ErrModuleFailed with the module's words) and the same
// errors from bad parameters. What the sandbox adds is not needed here: the
// functions are linear in their input (RE2 regular expressions, one pass
// of jolt), allocate in proportion to it, and a panic is recovered into a
// failed record.

// IsBuiltin reports whether wasm is the WebAssembly Lookup returned for
// name: then the module may run natively (NewNative). A module stored under
// a built-in's name, which shadows it, is not.
func IsBuiltin(name string, wasm []byte) bool {
	b, ok := Lookup(name)
	return ok && len(b) == len(wasm) && len(b) > 0 && unsafe.SliceData(b) == unsafe.SliceData(wasm)
}

// Native runs a built-in module natively. It is safe for concurrent use:
// each batch runs on a module made for one goroutine at a time, from a pool.
type Native struct {
	name      string
	kind      string
	newModule func() (funcs.Module, error) // another module, for another goroutine

	mu     sync.Mutex
	free   []funcs.Module
	closed bool
}

// NewNative makes the built-in module name (or an alias Lookup knows) from
// env, the step's parameters as they would reach the WebAssembly build as
// environment variables. Bad parameters fail like the WebAssembly build
// fails at start: an error wrapping engine.ErrModuleFailed with the
// module's words.
func NewNative(name string, env map[string]string) (*Native, error) {
	params := make(map[string]string, len(env))
	for k, v := range env {
		// What sdk.Params leaves out: the engine's own variables.
		if k == "REDPANDA_INPUT_TOPIC" || strings.HasPrefix(k, "REDPANDA_OUTPUT_TOPIC_") || k == sdk.DescribeEnv {
			continue
		}
		params[k] = v
	}
	m, err := funcs.New(canonical(name), params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", engine.ErrModuleFailed, canonical(name), err)
	}
	newModule := func() (funcs.Module, error) { return funcs.New(canonical(name), params) }
	return &Native{name: name, kind: m.Kind, newModule: newModule, free: []funcs.Module{m}}, nil
}

// Name returns the module's name, as NewNative was given it.
func (n *Native) Name() string { return n.name }

// Kind returns the module's kind, as the SDK's describe probe names it.
func (n *Native) Kind() string { return n.kind }

// Close makes later batches fail with engine.ErrClosed.
func (n *Native) Close() error {
	n.mu.Lock()
	n.closed, n.free = true, nil
	n.mu.Unlock()
	return nil
}

func (n *Native) get() (funcs.Module, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return funcs.Module{}, &engine.BatchError{Module: n.name, Record: -1, Offset: -1, Err: engine.ErrClosed}
	}
	if k := len(n.free); k > 0 {
		m := n.free[k-1]
		n.free = n.free[:k-1]
		n.mu.Unlock()
		return m, nil
	}
	n.mu.Unlock()
	// The parameters were good for the first one.
	return n.newModule()
}

func (n *Native) put(m funcs.Module) {
	n.mu.Lock()
	if !n.closed {
		n.free = append(n.free, m)
	}
	n.mu.Unlock()
}

// ProcessBatch runs b's records through the module, as
// engine.Runner.ProcessBatch does: one output per record a filter keeps or
// a map makes, to the first output topic, with its input's offset and
// timestamp deltas. A filter's outputs share their input's bytes; a map's
// are new. On a failed record it returns the outputs of the records before
// it and a *engine.BatchError naming it.
func (n *Native) ProcessBatch(ctx context.Context, b engine.Batch) (outs []engine.Output, err error) {
	if err := ctx.Err(); err != nil {
		return nil, &engine.BatchError{Module: n.name, Record: -1, Offset: -1, Err: err}
	}
	m, err := n.get()
	if err != nil {
		return nil, err
	}
	i := 0
	defer func() {
		if p := recover(); p != nil {
			// The module's state may be half-updated: do not reuse it.
			err = n.failed(b, i, fmt.Errorf("panic: %v", p))
			return
		}
		n.put(m)
	}()
	var r sdk.Record
	outBytes := 0
	for i = range b.Records {
		in := &b.Records[i]
		toSDK(&r, b.Header, in)
		switch {
		case m.Filter != nil:
			keep, ferr := m.Filter(r)
			if ferr != nil {
				return outs, n.failed(b, i, ferr)
			}
			if keep {
				outs = append(outs, engine.Output{Input: i, Record: protocol.Record{
					OffsetDelta: in.OffsetDelta, TimestampDelta: in.TimestampDelta,
					Key: in.Key, Value: in.Value, Headers: in.Headers,
				}})
			}
		default:
			mapped, merr := m.Map(r)
			if merr != nil {
				return outs, n.failed(b, i, merr)
			}
			out := fromSDK(&mapped, in)
			if outBytes += protocol.RecordPayloadSize(&out); outBytes > engine.DefaultMaxOutputBytes {
				return outs, &engine.BatchError{Module: n.name, Record: i, Offset: b.Header.BaseOffset + int64(in.OffsetDelta),
					Err: fmt.Errorf("%w: more than %d bytes", engine.ErrOutputLimit, engine.DefaultMaxOutputBytes)}
			}
			outs = append(outs, engine.Output{Input: i, Record: out})
		}
	}
	return outs, nil
}

// failed is the error of record i, in the words the WebAssembly build
// prints before it exits.
func (n *Native) failed(b engine.Batch, i int, err error) error {
	off := b.Header.BaseOffset + int64(b.Records[i].OffsetDelta)
	return &engine.BatchError{Module: n.name, Record: i, Offset: off, Err: fmt.Errorf("%w: %v", engine.ErrModuleFailed, err)}
}

// toSDK fills r with record in of a batch with header h, as the SDK hands
// a record to a module, reusing r's header array.
func toSDK(r *sdk.Record, h protocol.BatchHeader, in *protocol.Record) {
	r.Key, r.Value = in.Key, in.Value
	r.Headers = r.Headers[:0]
	for _, hd := range in.Headers {
		r.Headers = append(r.Headers, sdk.Header{Key: hd.Key, Value: hd.Value})
	}
	r.Offset = h.BaseOffset + int64(in.OffsetDelta)
	r.Timestamp = time.UnixMilli(h.BaseTimestamp + in.TimestampDelta)
}

// fromSDK copies what a map returned into a new record with in's deltas:
// the module may reuse its buffers on the next call.
func fromSDK(r *sdk.Record, in *protocol.Record) protocol.Record {
	out := protocol.Record{OffsetDelta: in.OffsetDelta, TimestampDelta: in.TimestampDelta}
	size := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		size += len(h.Key) + len(h.Value)
	}
	buf := make([]byte, 0, size)
	take := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	out.Key, out.Value = take(r.Key), take(r.Value)
	if len(r.Headers) > 0 {
		out.Headers = make([]protocol.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			out.Headers[i] = protocol.RecordHeader{Key: h.Key, Value: take(h.Value)}
		}
	}
	return out
}

// ChainNative is the chain.Native of the built-ins: a step whose module
// Resolve found as a built-in (IsBuiltin) runs natively.
func ChainNative(name string, wasm []byte, env map[string]string) (chain.Runner, chain.Kind, bool, error) {
	if !IsBuiltin(name, wasm) {
		return nil, chain.KindUnknown, false, nil
	}
	n, err := NewNative(name, env)
	if err != nil {
		return nil, chain.KindUnknown, false, err
	}
	return n, chain.Kind(n.Kind()), true, nil
}
