package raftlog

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/skiffstream/skiff/protocol"
)

// Reads of a partition's segments from several goroutines, with and
// without retention removing files under them.

func TestSegmentsConcurrentReadsDuringRetention(t *testing.T) {
	const limit = 8 << 10
	const group = 60
	const recs = 2 // records per batch, so batch i is at offset 2i
	s := openSegStore(t, vfs.NewMem(), "/data", "", limit)
	defer s.Close()
	p := openTestPartition(t, s, group)
	defer p.Close()
	batch := func(i int) []byte { return segTestBatch(t, i, recs, 400+i%7*50) }
	want := make([][]byte, 250)
	for i := range want {
		want[i] = batch(i)
	}

	var (
		done             atomic.Bool
		wg               sync.WaitGroup
		reads, nonEmpty  atomic.Int64
		removedSegments  atomic.Int64
		outOfRangeErrors atomic.Int64
	)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			for !done.Load() {
				start, hw := p.Offsets()
				off := start
				if hw > start && r > 0 {
					off = start + rng.Int64N(hw-start+1)
				}
				o := ReadOptions{MaxBytes: 1 + rng.IntN(16<<10), MinOne: rng.IntN(2) == 0}
				buf, err := p.Read(off, o, nil)
				reads.Add(1)
				_ = s.GroupSize(group)
				if errors.Is(err, ErrOffsetOutOfRange) {
					outOfRangeErrors.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("read at %d: %v", off, err)
					return
				}
				hs, err := protocol.ValidateBatches(buf)
				if err != nil && len(buf) > 0 {
					t.Errorf("read at %d: bad batches: %v", off, err)
					return
				}
				if len(hs) > 0 {
					nonEmpty.Add(1)
					first := hs[0]
					if first.BaseOffset > off || first.BaseOffset+int64(first.LastOffsetDelta) < off {
						t.Errorf("read at %d: first batch %d-%d", off, first.BaseOffset, first.BaseOffset+int64(first.LastOffsetDelta))
						return
					}
				}
				rest := buf
				for j, h := range hs {
					if j > 0 && h.BaseOffset != hs[j-1].BaseOffset+recs {
						t.Errorf("read at %d: batch at %d after %d", off, h.BaseOffset, hs[j-1].BaseOffset)
						return
					}
					b, r, _ := protocol.NextBatch(rest)
					rest = r
					if h.BaseOffset%recs != 0 || int(h.BaseOffset/recs) >= len(want) || !sameBatch(b, want[h.BaseOffset/recs]) {
						t.Errorf("read at %d: batch at %d is not the one appended there", off, h.BaseOffset)
						return
					}
				}
			}
		}()
	}

	ids := func() []uint64 { return listSegments(t, s.fs, s.groupSegDir(group)) }
	for i := range want {
		r := p.Append(cmdBuf(want[i])).Wait()
		if r.Err != nil || r.BaseOffset != int64(recs*i) {
			t.Errorf("append %d: %+v", i, r)
			break
		}
		if i%25 == 24 {
			before := len(ids())
			r := p.Truncate(int64(recs * (i - 20)))
			if r.Err != nil {
				t.Errorf("truncate: %v", r.Err)
				break
			}
			if err := errors.Join(p.Snapshot(), p.Reclaim()); err != nil {
				t.Errorf("reclaim: %v", err)
				break
			}
			removedSegments.Add(int64(before - len(ids())))
		}
	}
	done.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}
	if removedSegments.Load() < 5 || nonEmpty.Load() < 10 {
		t.Fatalf("%d segments removed, %d of %d reads returned batches: the test did not exercise much",
			removedSegments.Load(), nonEmpty.Load(), reads.Load())
	}
	t.Logf("%d reads (%d with batches, %d out of range), %d segments removed", reads.Load(), nonEmpty.Load(), outOfRangeErrors.Load(), removedSegments.Load())
}

// TestSegmentsConcurrentReadsManyFiles reads a partition of many more
// segments than a partition keeps open, from several goroutines at once, with
// nothing removed: every read returns exactly the batches asked for, and
// every Raft read succeeds (a file closed to open another is not a segment
// removed by retention).
func TestSegmentsConcurrentReadsManyFiles(t *testing.T) {
	const limit = 4 << 10
	const group = 61
	s := openSegStore(t, vfs.NewMem(), "/data", "", limit)
	defer s.Close()
	p := openTestPartition(t, s, group)
	defer p.Close()
	var l segLog
	for i := range 120 {
		l.append(t, p, segTestBatch(t, i, 1+i%3, 600))
	}
	if ids := listSegments(t, s.fs, s.groupSegDir(group)); len(ids) < 4*maxOpenSegments {
		t.Fatalf("only %d segments", len(ids))
	}
	var wg sync.WaitGroup
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for range 600 {
				i := rng.IntN(len(l.want))
				n := min(3, len(l.want)-i)
				size := 0
				for _, b := range l.want[i : i+n] {
					size += len(b)
				}
				buf, err := p.Read(l.base[i], ReadOptions{MaxBytes: size}, nil)
				if err != nil {
					t.Errorf("read batch %d: %v", i, err)
					return
				}
				hs, _ := protocol.ValidateBatches(buf)
				if len(hs) != n {
					t.Errorf("read from batch %d: %d batches, want %d", i, len(hs), n)
					return
				}
				for j, h := range hs {
					if h.BaseOffset != l.base[i+j] {
						t.Errorf("read from batch %d: batch %d at %d, want %d", i, j, h.BaseOffset, l.base[i+j])
						return
					}
				}
			}
		}()
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 8))
			for range 600 {
				i := rng.IntN(len(l.want))
				var out raft.Log
				if err := p.log.GetLog(l.idx[i], &out); err != nil || !sameBatch(out.Data, l.want[i]) {
					t.Errorf("raft entry %d of batch %d: %v", l.idx[i], i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
