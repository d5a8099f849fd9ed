package jolt

import "unsafe"

// arena hands out the member slices of objects and arrays, cut from larger
// chunks so that a document costs a few allocations rather than one per
// container. Inside a WebAssembly module an allocation costs microseconds,
// more than parsing a small object, so this matters there most.
//
// A plain arena only cuts fresh chunks: what it hands out stays valid. One
// with reuse set takes its chunks again after reset, so work whose values
// die before the next reset (AppendApply, Parser) allocates nothing once
// warm.
type arena struct {
	free   []Member
	reuse  bool
	chunks [][]Member // reuse: every chunk, used again after reset
	next   int        // reuse: the next chunk of chunks to use
}

const chunkMembers = 256

// take returns a slice of length n and capacity c (c >= n).
func (a *arena) take(n, c int) []Member {
	if c > len(a.free) {
		a.refill(c)
	}
	m := a.free[:n:c]
	a.free = a.free[c:]
	return m
}

func (a *arena) refill(c int) {
	if !a.reuse {
		a.free = make([]Member, max(c, chunkMembers/8))
		return
	}
	for a.next < len(a.chunks) {
		ch := a.chunks[a.next]
		a.next++
		if len(ch) >= c {
			a.free = ch
			return
		}
	}
	ch := make([]Member, max(c, chunkMembers))
	a.chunks = append(a.chunks, ch)
	a.next = len(a.chunks)
	a.free = ch
}

// grow returns m with room for one more member.
func (a *arena) grow(m []Member) []Member {
	if len(m) < cap(m) {
		return m
	}
	g := a.take(len(m), max(2*cap(m), 4))
	copy(g, m)
	return g
}

// reset makes a reusing arena hand out its chunks again.
func (a *arena) reset() {
	a.next, a.free = 0, nil
}

// Parser parses JSON documents one after another into memory it reuses:
// once warm it allocates nothing. A Value it returns aliases the parsed
// bytes and the Parser's memory, so it is valid only until the next Parse
// and while those bytes are unchanged; ParseJSON's values have no such
// limits. The zero Parser is ready; it is not safe for concurrent use.
type Parser struct {
	p parser
	a arena
}

// Parse parses data, as ParseJSON does.
func (p *Parser) Parse(data []byte) (Value, error) {
	p.a.reuse = true
	p.a.reset()
	p.p.a = &p.a
	v, err := p.p.parse(unsafe.String(unsafe.SliceData(data), len(data)))
	p.p.reset()
	return v, err
}
