package raftlog

import (
	"fmt"

	"github.com/skiffstream/skiff/protocol"
)

// Checks compiled in with the `invariants` build tag (as Pebble does): they
// panic, so a test that breaks one fails at the line that did. Without the
// tag the constant is false and the compiler drops them.

// checkAppend: offsets only grow, an appended batch takes exactly the
// offsets after the previous one, and the log start never passes the end.
func (f *partitionFSM) checkAppend(base, count int64) {
	if base != f.next-count || count <= 0 || f.logStart > f.next {
		panic(fmt.Sprintf("raftlog invariant: group %d append base %d count %d: next %d, log start %d", f.group, base, count, f.next, f.logStart))
	}
}

// checkTruncate: the log start only grows and stays within the log.
func (f *partitionFSM) checkTruncate(prev int64) {
	if f.logStart < prev || f.logStart > f.next {
		panic(fmt.Sprintf("raftlog invariant: group %d log start %d after %d, next %d", f.group, f.logStart, prev, f.next))
	}
}

// checkRead: Read returns whole batches whose offsets increase, start at or
// before the offset asked for (the batch holding it), and end below the
// bound (the high watermark, or MaxOffset).
func checkRead(group uint64, offset, bound int64, out []byte) {
	prevLast := int64(-1)
	first := true
	for len(out) > 0 {
		h, err := protocol.ParseBatchHeader(out)
		if err != nil || h.TotalSize() > len(out) {
			panic(fmt.Sprintf("raftlog invariant: group %d read from %d: a partial or bad batch (%v)", group, offset, err))
		}
		last := h.BaseOffset + int64(h.LastOffsetDelta)
		switch {
		case h.BaseOffset <= prevLast:
			panic(fmt.Sprintf("raftlog invariant: group %d read from %d: batch at %d after one ending at %d", group, offset, h.BaseOffset, prevLast))
		case first && (h.BaseOffset > offset || last < offset):
			panic(fmt.Sprintf("raftlog invariant: group %d read from %d: first batch holds %d-%d", group, offset, h.BaseOffset, last))
		case last >= bound:
			panic(fmt.Sprintf("raftlog invariant: group %d read from %d: batch ends at %d, the bound is %d", group, offset, last, bound))
		}
		prevLast, first = last, false
		out = out[h.TotalSize():]
	}
}
