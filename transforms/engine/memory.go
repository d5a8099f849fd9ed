package engine

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// limitedMemory backs one instance's linear memory and refuses to grow it
// past limit bytes. The runtime-wide ceiling is wazero's memory limit pages
// (Config.MaxMemoryLimit); this gives each runner its own, lower limit
// without a runtime per limit. A refused growth makes memory.grow return -1
// to the module, which then fails in its own way (a Go module prints "out of
// memory" and exits with code 2); hit lets the engine name the cause.
type limitedMemory struct {
	buf   []byte
	limit uint64
	hit   atomic.Bool
}

// Reallocate implements experimental.LinearMemory.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit && m.buf != nil {
		m.hit.Store(true)
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow geometrically (within the limit) so that a module growing page
	// by page does not copy its memory every time. Bytes past len are
	// zero: memory never shrinks, so they were never handed out.
	c := max(size, min(2*uint64(cap(m.buf)), m.limit))
	buf := make([]byte, size, c)
	copy(buf, m.buf)
	m.buf = buf
	return buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }

// allocator returns an experimental.MemoryAllocator handing out m. It must
// be used for exactly one memory (one instance).
func (m *limitedMemory) allocator() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, _ uint64) experimental.LinearMemory { return m })
}
