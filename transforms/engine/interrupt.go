package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The batch time limit is enforced by checks compiled into the module.
// Load rewrites the module so that every function entry and loop header
// counts down a budget in a new mutable global and, when it reaches zero,
// refills it and calls the module's ABI marker import (check_abi_version_1
// or _2), whose host side ends the module if its batch ran out of time:
//
//	global.get $budget
//	i32.const 1
//	i32.sub
//	global.set $budget
//	global.get $budget
//	i32.eqz
//	if
//	  i32.const yieldEvery
//	  global.set $budget
//	  call $check_abi_version
//	end
//
// That costs a few instructions per loop iteration and a host call every
// yieldEvery iterations. The host call matters for more than the time
// limit: Go cannot preempt compiled WebAssembly, so a garbage collection
// waits for every running module to come back into Go, and a module that
// never did would stall the whole broker.
//
// wazero's own mechanism, RuntimeConfig.WithCloseOnContextDone, calls into
// Go at every loop header instead, which made Go modules 2 to 3 times
// slower (9 times for tight loops). Code that reaches no loop header or
// function entry cannot run for long.

// yieldEvery is the number of loop iterations and function calls between
// two calls into the host: about 40 µs of a Go module's tight loop.
const yieldEvery = 10_000

var errInstrument = errors.New("cannot instrument module")

// Section ids, https://webassembly.github.io/spec/core/binary/modules.html
const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secCode   = 10
)

// sectionOrder is the position of each known section id in a module.
var sectionOrder = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type wasmSection struct {
	id      byte
	content []byte
}

// instrument returns wasm with the budget check at every function entry
// and loop header, a new mutable i32 global for the budget, and without
// DWARF custom sections (their code offsets would be wrong). The module
// must be valid for the result to be.
func instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: not a WebAssembly binary", errInstrument)
	}
	header := wasm[:8]
	var sections []wasmSection
	for r := (reader{b: wasm[8:]}); len(r.b) > 0; {
		id := r.byte()
		size := r.u32()
		content := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errInstrument, id, r.err)
		}
		if id == secCustom && strings.HasPrefix(customName(content), ".debug_") {
			continue
		}
		sections = append(sections, wasmSection{id, content})
	}
	var imported, defined, marker uint32
	hasMarker := false
	globalAt := -1
	for i, s := range sections {
		var err error
		switch s.id {
		case secImport:
			imported, marker, hasMarker, err = scanImports(s.content)
		case secGlobal:
			globalAt = i
			defined, err = (&reader{b: s.content}).count()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errInstrument, s.id, err)
		}
	}
	if !hasMarker {
		return nil, fmt.Errorf("%w: it imports neither %s.check_abi_version_1 nor check_abi_version_2; build it with a transform SDK", ErrNotTransform, hostModule)
	}
	budget := binary.AppendUvarint(nil, uint64(imported+defined))
	check := cat2(
		[]byte{0x23}, budget, []byte{0x41, 0x01, 0x6b}, // global.get, i32.const 1, i32.sub
		[]byte{0x24}, budget, []byte{0x23}, budget, // global.set, global.get
		[]byte{0x45, 0x04, 0x40},                                   // i32.eqz, if
		appendSleb([]byte{0x41}, yieldEvery), []byte{0x24}, budget, // i32.const, global.set
		binary.AppendUvarint([]byte{0x10}, uint64(marker)), []byte{0x0b}, // call, end
	)
	newGlobal := appendSleb([]byte{0x7f, 0x01, 0x41}, yieldEvery) // mutable i32
	newGlobal = append(newGlobal, 0x0b)
	if globalAt >= 0 {
		sections[globalAt].content = appendEntry(sections[globalAt].content, defined, newGlobal)
	} else {
		sections = insertSection(sections, wasmSection{secGlobal, appendEntry(nil, 0, newGlobal)})
	}
	if at := indexOf(sections, secCode); at >= 0 {
		code, err := instrumentCode(sections[at].content, check)
		if err != nil {
			return nil, err
		}
		sections[at].content = code
	}
	out := append([]byte{}, header...)
	for _, s := range sections {
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.content)))
		out = append(out, s.content...)
	}
	return out, nil
}

func customName(content []byte) string {
	r := reader{b: content}
	n := r.u32()
	name := r.bytes(int(n))
	if r.err != nil {
		return ""
	}
	return string(name)
}

func indexOf(sections []wasmSection, id byte) int {
	for i, s := range sections {
		if s.id == id {
			return i
		}
	}
	return -1
}

// insertSection inserts s before the first known section that must follow
// it.
func insertSection(sections []wasmSection, s wasmSection) []wasmSection {
	at := len(sections)
	for i, t := range sections {
		if t.id != secCustom && sectionOrder[t.id] > sectionOrder[s.id] {
			at = i
			break
		}
	}
	return append(sections[:at], append([]wasmSection{s}, sections[at:]...)...)
}

// appendEntry rewrites a vector section holding n entries so it holds one
// more, entry, at the end.
func appendEntry(content []byte, n uint32, entry []byte) []byte {
	rest := content
	if content != nil {
		r := reader{b: content}
		r.u32()
		rest = r.b
	}
	out := binary.AppendUvarint(nil, uint64(n)+1)
	out = append(out, rest...)
	return append(out, entry...)
}

// scanImports counts the imported globals and finds the function index of
// the ABI marker import.
func scanImports(content []byte) (globals, marker uint32, hasMarker bool, err error) {
	r := reader{b: content}
	n, err := r.count()
	if err != nil {
		return 0, 0, false, err
	}
	var funcs uint32
	for range n {
		module := string(r.bytes(int(r.u32())))
		name := string(r.bytes(int(r.u32())))
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			r.u32()
			if module == hostModule && (name == "check_abi_version_1" || name == "check_abi_version_2") && !hasMarker {
				marker, hasMarker = funcs, true
			}
			funcs++
		case 0x01: // table: reference type, limits
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global: value type, mutability
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			r.fail(fmt.Errorf("unknown import kind %#x", kind))
		}
	}
	return globals, marker, hasMarker, r.err
}

func appendSleb(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

func cat2(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// instrumentCode inserts check at the start of every function body and
// after every loop instruction.
func instrumentCode(content []byte, check []byte) ([]byte, error) {
	r := reader{b: content}
	n, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("%w: code section: %v", errInstrument, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(content)+int(n)*2*len(check)), uint64(n))
	var body []byte
	for i := range n {
		size := r.u32()
		b := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: code section: function %d: %v", errInstrument, i, r.err)
		}
		body, err = instrumentBody(body[:0], b, check)
		if err != nil {
			return nil, fmt.Errorf("%w: function %d: %v", errInstrument, i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the code section's functions", errInstrument, len(r.b))
	}
	return out, nil
}

func instrumentBody(dst, body, check []byte) ([]byte, error) {
	r := reader{b: body}
	groups := r.u32()
	for range groups {
		r.u32()  // count
		r.byte() // value type
	}
	if r.err != nil {
		return nil, fmt.Errorf("locals: %w", r.err)
	}
	dst = append(dst, body[:len(body)-len(r.b)]...)
	dst = append(dst, check...)
	for len(r.b) > 0 {
		start := r.b
		op := r.byte()
		loop := op == 0x03
		skipImmediates(&r, op)
		if r.err != nil {
			return nil, r.err
		}
		dst = append(dst, start[:len(start)-len(r.b)]...)
		if loop {
			dst = append(dst, check...)
		}
	}
	return dst, nil
}
