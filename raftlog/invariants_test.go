//go:build invariants

package raftlog

import (
	"testing"

	"github.com/skiffstream/skiff/protocol"
)

// TestRaftlogInvariantChecks: the checks catch what they are for.
func TestRaftlogInvariantChecks(t *testing.T) {
	batch := func(base int64, n int) []byte {
		b := testBatch(t, n, 10, -1, -1, -1)
		protocol.SetBaseOffset(b, base)
		return b
	}
	panics := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		fn()
	}
	checkRead(1, 3, 10, append(batch(2, 2), batch(4, 3)...)) // fine
	panics("out of order", func() { checkRead(1, 3, 10, append(batch(4, 3), batch(2, 2)...)) })
	panics("first batch past the offset", func() { checkRead(1, 3, 10, batch(5, 2)) })
	panics("past the bound", func() { checkRead(1, 3, 5, batch(3, 4)) })
	panics("partial", func() { checkRead(1, 3, 10, batch(3, 2)[:40]) })
	f := &partitionFSM{next: 10, logStart: 0}
	panics("append gap", func() { f.checkAppend(5, 2) })
	f.logStart = 4
	panics("log start backwards", func() { f.checkTruncate(6) })
}
