package engine

import (
	"encoding/binary"
)

// A tiny WebAssembly assembler for hand-written test modules, whose every
// byte and pointer the tests control. Only what the tests use is here.

// Indices of the functions every test module imports, in this order.
const (
	fnCheckABI = iota
	fnReadBatchHeader
	fnReadNextRecord
	fnWriteRecord
	fnWriteRecordWithOptions
	numImports
)

const (
	tI32 = 0x7f
)

type wasmImport struct {
	module, name    string
	params, results []byte
}

// abiImports are the imports of a test module; check names the ABI marker.
func abiImports(check string) []wasmImport {
	i := func(n int) []byte {
		b := make([]byte, n)
		for k := range b {
			b[k] = tI32
		}
		return b
	}
	return []wasmImport{
		{hostModule, check, nil, nil},
		{hostModule, "read_batch_header", i(10), i(1)},
		{hostModule, "read_next_record", i(5), i(1)},
		{hostModule, "write_record", i(2), i(1)},
		{hostModule, "write_record_with_options", i(4), i(1)},
	}
}

type wasmData struct {
	offset uint32
	bytes  []byte
}

// wasmModule is a module with the given imports, one exported memory of
// memPages pages, data segments and an exported `_start` with body start
// (without the final end).
type wasmModule struct {
	imports  []wasmImport
	memPages uint32
	data     []wasmData
	start    []byte
	noStart  bool
	globals  int // mutable i32 globals, initialised to 0
}

func (m wasmModule) bytes() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	// Types: one per import, then () -> () for _start.
	var types [][]byte
	for _, im := range m.imports {
		types = append(types, funcType(im.params, im.results))
	}
	types = append(types, funcType(nil, nil))
	out = section(out, 1, vec(types))
	var imports [][]byte
	for i, im := range m.imports {
		e := name(nil, im.module)
		e = name(e, im.name)
		e = append(e, 0x00)
		e = uleb(e, uint64(i))
		imports = append(imports, e)
	}
	out = section(out, 2, vec(imports))
	out = section(out, 3, vec([][]byte{uleb(nil, uint64(len(m.imports)))}))
	out = section(out, 5, vec([][]byte{uleb([]byte{0x00}, uint64(m.memPages))}))
	if m.globals > 0 {
		var gs [][]byte
		for range m.globals {
			gs = append(gs, []byte{tI32, 0x01, 0x41, 0x00, 0x0b})
		}
		out = section(out, 6, vec(gs))
	}
	var exports [][]byte
	if !m.noStart {
		exports = append(exports, uleb(append(name(nil, "_start"), 0x00), uint64(len(m.imports))))
	}
	exports = append(exports, append(name(nil, "memory"), 0x02, 0x00))
	out = section(out, 7, vec(exports))
	body := append([]byte{0x00}, m.start...) // no locals
	body = append(body, 0x0b)
	out = section(out, 10, vec([][]byte{append(uleb(nil, uint64(len(body))), body...)}))
	var segs [][]byte
	for _, d := range m.data {
		s := []byte{0x00}
		s = append(s, i32Const(int32(d.offset))...)
		s = append(s, 0x0b)
		s = uleb(s, uint64(len(d.bytes)))
		segs = append(segs, append(s, d.bytes...))
	}
	if len(segs) > 0 {
		out = section(out, 11, vec(segs))
	}
	return out
}

// section appends a section with its size.
func section(dst []byte, id byte, content []byte) []byte {
	dst = append(dst, id)
	dst = uleb(dst, uint64(len(content)))
	return append(dst, content...)
}

func funcType(params, results []byte) []byte {
	t := []byte{0x60}
	t = uleb(t, uint64(len(params)))
	t = append(t, params...)
	t = uleb(t, uint64(len(results)))
	return append(t, results...)
}

func vec(items [][]byte) []byte {
	out := uleb(nil, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func name(dst []byte, s string) []byte {
	return append(uleb(dst, uint64(len(s))), s...)
}

func uleb(dst []byte, v uint64) []byte {
	return binary.AppendUvarint(dst, v)
}

func sleb(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

// Instructions.

func i32Const(v int32) []byte { return sleb([]byte{0x41}, int64(v)) }

func call(fn int) []byte { return uleb([]byte{0x10}, uint64(fn)) }

// callWith pushes args as i32 constants and calls fn.
func callWith(fn int, args ...int32) []byte {
	var b []byte
	for _, a := range args {
		b = append(b, i32Const(a)...)
	}
	return append(b, call(fn)...)
}

// storeResult stores at addr the i32 result of the call in code.
func storeResult(addr int32, code []byte) []byte {
	b := append(i32Const(addr), code...)
	return append(b, 0x36, 0x02, 0x00) // i32.store align=4 offset=0
}

var (
	opDrop        = []byte{0x1a}
	opUnreachable = []byte{0x00}
	opLoop        = []byte{0x03, 0x40}
	opEnd         = []byte{0x0b}
	opBr0         = []byte{0x0c, 0x00}
	// opGrowOrTrap grows memory by 16 pages and traps if that fails.
	opGrowOrTrap = []byte{
		0x41, 0x10, // i32.const 16
		0x40, 0x00, // memory.grow
		0x41, 0x7f, // i32.const -1
		0x46,       // i32.eq
		0x04, 0x40, // if
		0x00, // unreachable
		0x0b, // end
	}
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
