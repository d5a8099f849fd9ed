package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// reader decodes the WebAssembly binary format, remembering the first
// error; reads after an error return zero values.
type reader struct {
	b   []byte
	err error
}

var errWasmShort = errors.New("unexpected end")

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail(errWasmShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail(errWasmShort)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n > 5 || v > 1<<32-1 {
		r.fail(errors.New("bad LEB128"))
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// count reads a vector length, checking it against the bytes left (every
// entry takes at least one byte).
func (r *reader) count() (uint32, error) {
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)) {
		r.fail(fmt.Errorf("vector of %d entries in %d bytes", n, len(r.b)))
	}
	return n, r.err
}

// sleb skips a signed LEB128 of at most maxBytes bytes.
func (r *reader) sleb(maxBytes int) {
	for i := 0; ; i++ {
		if i == maxBytes {
			r.fail(errors.New("bad LEB128"))
			return
		}
		if r.byte()&0x80 == 0 {
			return
		}
	}
}

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&0x01 != 0 {
		r.u32()
	}
}

// memarg skips a memory immediate: alignment (with bit 6, a memory index
// follows) and offset.
func (r *reader) memarg() {
	if r.u32()&0x40 != 0 {
		r.u32()
	}
	r.u32()
}

// blockType skips a block type: empty (0x40), a value type, or a type
// index as a signed LEB128.
func (r *reader) blockType() {
	if len(r.b) > 0 {
		switch r.b[0] {
		case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.b = r.b[1:]
			return
		}
	}
	r.sleb(5)
}

// skipImmediates skips the immediates of the instruction op, whose opcode
// byte has been read. It knows the instructions wazero compiles by default
// (WebAssembly 2.0: sign extension, saturating conversions, bulk memory,
// reference types, multi-value, SIMD) and fails on others.
func skipImmediates(r *reader, op byte) {
	switch {
	case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		// no immediates
	case op >= 0x02 && op <= 0x04: // block, loop, if
		r.blockType()
	case op == 0x0c, op == 0x0d, op == 0x10, op == 0xd2, // br, br_if, call, ref.func
		op >= 0x20 && op <= 0x26, // local.*, global.*, table.get/set
		op == 0x3f, op == 0x40:   // memory.size/grow
		r.u32()
	case op == 0x0e: // br_table
		n, _ := r.count()
		for range n + 1 {
			r.u32()
		}
	case op == 0x11: // call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		n, _ := r.count()
		r.bytes(int(n))
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x41:
		r.sleb(5)
	case op == 0x42:
		r.sleb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xfc:
		skipMisc(r, r.u32())
	case op == 0xfd:
		skipSIMD(r, r.u32())
	default:
		r.fail(fmt.Errorf("unsupported opcode %#x", op))
	}
}

// skipMisc skips the immediates of a 0xfc-prefixed instruction.
func skipMisc(r *reader, sub uint32) {
	switch {
	case sub <= 7: // saturating truncations
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		r.fail(fmt.Errorf("unsupported opcode 0xfc %d", sub))
	}
}

// skipSIMD skips the immediates of a 0xfd-prefixed instruction.
func skipSIMD(r *reader, sub uint32) {
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 275:
		// no immediates
	default:
		r.fail(fmt.Errorf("unsupported opcode 0xfd %d", sub))
	}
}
