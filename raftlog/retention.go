package raftlog

import (
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiffstream/skiff/protocol"
)

// Size is the bytes of the retained batches (the partition's log size).
func (p *Partition) Size() int64 {
	p.fsm.mu.Lock()
	defer p.fsm.mu.Unlock()
	return p.fsm.bytes
}

// forEachBatch calls fn for the index entries of the retained batches in
// offset order, from offset from on, until fn returns false.
func (p *Partition) forEachBatch(from int64, fn func(lastOffset int64, e indexEntry) bool) error {
	it, err := p.store.db.NewIter(&pebble.IterOptions{
		LowerBound: groupKey(p.group, kindOffset, uint64(max(from, 0))),
		UpperBound: groupPrefix(p.group, kindOffset+1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if !fn(int64(keySuffix(it.Key())), decodeIndexEntry(it.Value())) {
			break
		}
	}
	return it.Error()
}

// RetentionOffset returns the log start offset that retention.ms and
// retention.bytes call for (negative limits are off), or the current one.
// Only whole batches are removed, oldest first.
func (p *Partition) RetentionOffset(retentionMs, retentionBytes int64, now time.Time) int64 {
	logStart, _ := p.Offsets()
	newStart := logStart
	excess := int64(-1)
	if retentionBytes >= 0 {
		excess = p.Size() - retentionBytes
	}
	cutoff := int64(-1)
	if retentionMs >= 0 {
		cutoff = now.UnixMilli() - retentionMs
	}
	_ = p.forEachBatch(logStart, func(last int64, e indexEntry) bool {
		switch {
		case excess > 0:
			excess -= int64(e.size)
		case cutoff >= 0 && e.maxTimestamp < cutoff:
		default:
			return false
		}
		newStart = last + 1
		return true
	})
	return newStart
}

// Reclaim deletes the Raft entries of batches below the log start offset,
// never past the group's last snapshot: Raft reads entries after the snapshot
// at start.
func (p *Partition) Reclaim() error {
	p.fsm.mu.Lock()
	below := p.fsm.reclaimBelow
	p.fsm.mu.Unlock()
	snap, err := p.lastSnapshotIndex()
	if err != nil {
		return err
	}
	upTo := min(below-1, snap)
	first := p.log.first.Load()
	if below == 0 || first == 0 || upTo < first {
		return nil
	}
	return p.log.DeleteRange(first, upTo)
}

func (p *Partition) lastSnapshotIndex() (uint64, error) {
	metas, err := (&snapshotStore{db: p.store.db, group: p.group}).List()
	if err != nil || len(metas) == 0 {
		return 0, err
	}
	return metas[0].Index, nil
}

// Snapshot asks Raft for a snapshot now (tests, and before reclaiming).
func (p *Partition) Snapshot() error {
	err := p.raft.Snapshot().Error()
	if err == raft.ErrNothingNewToSnapshot {
		return nil
	}
	return err
}

// OffsetForTimestamp answers ListOffsets by timestamp: the first offset whose
// record timestamp is ≥ ts, and that timestamp; (-1, -1) if none.
func (p *Partition) OffsetForTimestamp(ts int64) (int64, int64, error) {
	logStart, hw := p.Offsets()
	var found *indexEntry
	var foundLast int64
	err := p.forEachBatch(logStart, func(last int64, e indexEntry) bool {
		if e.baseOffset >= hw {
			return false
		}
		if e.maxTimestamp >= ts {
			found, foundLast = &e, last
			return false
		}
		return true
	})
	if err != nil || found == nil {
		return -1, -1, err
	}
	return p.findInBatch(*found, foundLast, func(off, rts int64) bool { return rts >= ts })
}

// MaxTimestampOffset answers ListOffsets with MAX_TIMESTAMP (-3): the offset
// and timestamp of the record with the largest timestamp (the first such).
func (p *Partition) MaxTimestampOffset() (int64, int64, error) {
	logStart, hw := p.Offsets()
	var best *indexEntry
	var bestLast int64
	err := p.forEachBatch(logStart, func(last int64, e indexEntry) bool {
		if e.baseOffset >= hw {
			return false
		}
		if best == nil || e.maxTimestamp > best.maxTimestamp {
			best, bestLast = &e, last
		}
		return true
	})
	if err != nil || best == nil {
		return -1, -1, err
	}
	maxTs := best.maxTimestamp
	return p.findInBatch(*best, bestLast, func(off, rts int64) bool { return rts == maxTs })
}

// findInBatch reads one batch and returns the first record matching.
func (p *Partition) findInBatch(e indexEntry, last int64, match func(offset, ts int64) bool) (int64, int64, error) {
	buf, err := p.Read(e.baseOffset, ReadOptions{MaxBytes: 1, MinOne: true, MaxOffset: last + 1}, nil)
	if err != nil {
		return -1, -1, err
	}
	h, err := protocol.ParseBatchHeader(buf)
	if err != nil {
		return -1, -1, kerr.CorruptMessage
	}
	if h.LogAppendTime() {
		return h.BaseOffset, h.MaxTimestamp, nil
	}
	recs, err := protocol.ParseRecords(h, buf[:h.TotalSize()], 256<<20)
	if err != nil {
		return -1, -1, err
	}
	for _, r := range recs {
		off, rts := h.BaseOffset+int64(r.OffsetDelta), h.BaseTimestamp+r.TimestampDelta
		if match(off, rts) {
			return off, rts, nil
		}
	}
	return h.BaseOffset, h.MaxTimestamp, nil
}
