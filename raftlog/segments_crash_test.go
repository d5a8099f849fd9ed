package raftlog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/skiffstream/skiff/protocol"
)

// Crash tests of segments on Pebble's crashable in-memory filesystem.

func TestSegmentsCrashLosesNoAcknowledged(t *testing.T) {
	for _, pct := range []int{50, 100} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("unsynced%d/seed%d", pct, seed), func(t *testing.T) {
				testSegmentsCrash(t, pct, seed)
			})
		}
	}
}

func testSegmentsCrash(t *testing.T, pct int, seed uint64) {
	const limit = 12 << 10
	const group = 5
	rng := rand.New(rand.NewPCG(seed, uint64(pct)))
	mem := vfs.NewCrashableMem()
	s := openSegStore(t, mem, "/data", "", limit)
	p := openTestPartition(t, s, group)
	var l segLog
	n := 0
	next := func() []byte { n++; return segTestBatch(t, n, 1+n%3, 400+rng.IntN(400)) }
	for range 40 {
		l.append(t, p, next())
		if n == 15 {
			if err := p.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ids := listSegments(t, mem, s.groupSegDir(group)); len(ids) < 3 {
		t.Fatalf("segments %v: too few rolls", ids)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
	p.Close()
	s.Close()

	oldLast := l.idx[len(l.idx)-1] // every append was acknowledged
	s, p = recoverSegs(t, crashed, limit, group, &l)
	// Appends continue after the recovered log, at the right offsets, and
	// in a new segment.
	for range 15 {
		l.append(t, p, next())
	}
	l.check(t, p, 0)
	if ids := listSegments(t, crashed, s.groupSegDir(group)); segOf(ids, l.idx[len(l.idx)-15]) <= oldLast {
		t.Fatalf("appends after recovery (index %d) went to a segment from before the crash (last index %d): %v", l.idx[len(l.idx)-15], oldLast, ids)
	}

	// A second crash while appends are in flight: every batch acknowledged
	// before it survives.
	var (
		stop  atomic.Bool
		mu    sync.Mutex
		acked []AppendResult
		sent  [][]byte // read-only once the appender runs
		wg    sync.WaitGroup
	)
	for range 300 {
		sent = append(sent, next())
	}
	exited := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(exited)
		for i := 0; !stop.Load() && i < len(sent); i++ {
			r := p.Append(cmdBuf(sent[i])).Wait()
			if r.Err != nil {
				if !stop.Load() {
					t.Errorf("append: %v", r.Err)
				}
				return
			}
			mu.Lock()
			acked = append(acked, r)
			mu.Unlock()
		}
	}()
	for k := 0; k < 10; time.Sleep(time.Millisecond) {
		select {
		case <-exited:
			t.Fatal("the appender stopped")
		default:
		}
		mu.Lock()
		k = len(acked)
		mu.Unlock()
	}
	mu.Lock()
	ackedBefore := slices.Clone(acked)
	mu.Unlock()
	crashed2 := crashed.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
	stop.Store(true)
	wg.Wait() // the append in flight completes before the group stops
	p.Close()
	s.Close()
	for i, r := range ackedBefore {
		l.want, l.base, l.idx = append(l.want, sent[i]), append(l.base, r.BaseOffset), append(l.idx, 0)
	}
	s, p = recoverSegs(t, crashed2, limit, group, &l)
	defer s.Close()
	defer p.Close()
	for range 5 {
		l.append(t, p, next())
	}
	l.check(t, p, 0)
}

// recoverSegs opens a crashed store and checks the acknowledged batches of l
// are all there, at their offsets. Batches that were in flight at the crash
// may follow them; l is extended with those it finds.
func recoverSegs(t *testing.T, fs vfs.FS, limit int64, group uint64, l *segLog) (*Store, *Partition) {
	t.Helper()
	s := openSegStore(t, fs, "/data", "", limit)
	p := openTestPartition(t, s, group)
	h, _ := protocol.ParseBatchHeader(l.want[len(l.want)-1])
	end := l.base[len(l.base)-1] + int64(h.LastOffsetDelta) + 1
	// Raft re-applies the entries after the last snapshot: a barrier
	// waits for all of them.
	if err := p.raft.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if _, hw := p.Offsets(); hw < end {
		t.Fatalf("high watermark %d after recovery, acknowledged up to %d", hw, end)
	}
	// No file past the last index survives the restart.
	last, _ := p.log.LastIndex()
	for _, id := range checkSegmentFilesCrashed(t, fs, s.groupSegDir(group), 0, true) {
		if id > last {
			t.Fatalf("segment %d past the last index %d", id, last)
		}
	}
	buf, err := p.Read(0, ReadOptions{MaxBytes: 1 << 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, hs := splitBatches(t, buf)
	if len(got) < len(l.want) {
		t.Fatalf("after the crash: %d batches, %d acknowledged", len(got), len(l.want))
	}
	for i := range l.want {
		if hs[i].BaseOffset != l.base[i] || !sameBatch(got[i], l.want[i]) {
			t.Fatalf("after the crash batch %d at %d, want %d (same bytes %v)", i, hs[i].BaseOffset, l.base[i], sameBatch(got[i], l.want[i]))
		}
	}
	for i := len(l.want); i < len(got); i++ {
		l.want, l.base, l.idx = append(l.want, got[i]), append(l.base, hs[i].BaseOffset), append(l.idx, 0)
	}
	l.check(t, p, 0)
	return s, p
}
