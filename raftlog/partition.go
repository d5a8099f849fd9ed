package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiffstream/skiff/protocol"
)

// Partition is one Kafka partition: a Raft group whose log holds the record
// batches, with the FSM's offset index beside it in the node's Pebble.
type Partition struct {
	store *Store
	group uint64
	raft  *raft.Raft
	log   *groupLog
	fsm   *partitionFSM

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced when the high watermark moves
}

// OpenPartition starts (or resumes) the partition in Raft group group.
func OpenPartition(s *Store, group uint64, o GroupOptions) (*Partition, error) {
	fsm, err := newPartitionFSM(s.db, group)
	if err != nil {
		return nil, err
	}
	p := &Partition{store: s, group: group, fsm: fsm, notify: make(chan struct{})}
	fsm.onAdvance = p.wake
	o.segmented = true
	p.raft, p.log, err = startGroup(s, group, fsm, o)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Group is the partition's Raft group id.
func (p *Partition) Group() uint64 { return p.group }

func (p *Partition) wake() {
	p.notifyMu.Lock()
	close(p.notify)
	p.notify = make(chan struct{})
	p.notifyMu.Unlock()
}

// Changed returns a channel closed the next time the high watermark or log
// start offset moves: long-polling fetches wait on it.
func (p *Partition) Changed() <-chan struct{} {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	return p.notify
}

// IsLeader reports whether this node leads the partition's group.
func (p *Partition) IsLeader() bool { return p.raft.State() == raft.Leader }

// WaitLeader blocks until this node leads the group or timeout passes.
func (p *Partition) WaitLeader(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !p.IsLeader() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// LeaderEpoch is the Kafka leader epoch: the current Raft term.
func (p *Partition) LeaderEpoch() int32 {
	return int32(p.raft.CurrentTerm())
}

// Offsets returns the log start offset and the high watermark (which is the
// log end offset: the FSM applies only committed entries).
func (p *Partition) Offsets() (logStart, highWatermark int64) {
	p.fsm.mu.Lock()
	defer p.fsm.mu.Unlock()
	return p.fsm.logStart, p.fsm.next
}

// AppendFuture is a produce in flight through Raft.
type AppendFuture struct {
	f   raft.ApplyFuture
	err error
}

// Wait blocks until the batch is committed and applied, and returns the
// offsets Apply assigned or a Kafka error.
func (a *AppendFuture) Wait() AppendResult {
	if a.err != nil {
		return AppendResult{Err: a.err}
	}
	if err := a.f.Error(); err != nil {
		return AppendResult{Err: raftErr(err)}
	}
	r, _ := a.f.Response().(AppendResult)
	return r
}

// raftErr turns a hashicorp/raft error into the Kafka error a client retries on.
func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return kerr.NotLeaderForPartition
	case errors.Is(err, raft.ErrRaftShutdown):
		return kerr.NotLeaderForPartition
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return kerr.RequestTimedOut
	}
	return kerr.KafkaStorageError
}

// Append submits one validated record batch (see protocol.ValidateBatches) to
// Raft. It does not wait: pipelined produce requests on a connection keep
// their order because submission is in order. The batch is not copied: it
// must not change until the future completes.
func (p *Partition) Append(batch []byte) *AppendFuture {
	if p.raft.State() != raft.Leader {
		return &AppendFuture{err: kerr.NotLeaderForPartition}
	}
	return &AppendFuture{f: p.raft.ApplyLog(raft.Log{Data: batch, Extensions: extAppend}, 0)}
}

// AppendTransformed appends a batch that a produce-time SmartModule chain
// made from a produced one whose lastOffsetDelta was seqDelta: the
// idempotent producer's sequence check counts the records it sent. A batch
// of zero records stores nothing and records the sequence only; its
// result's BaseOffset is -1.
func (p *Partition) AppendTransformed(batch []byte, seqDelta int32) *AppendFuture {
	if p.raft.State() != raft.Leader {
		return &AppendFuture{err: kerr.NotLeaderForPartition}
	}
	ext := binary.BigEndian.AppendUint32([]byte{cmdAppendTransformed}, uint32(seqDelta))
	return &AppendFuture{f: p.raft.ApplyLog(raft.Log{Data: batch, Extensions: ext}, 0)}
}

// Truncate moves the log start offset to offset (DeleteRecords). Records
// below it are no longer readable and their space is reclaimed.
func (p *Partition) Truncate(offset int64) AppendResult {
	if p.raft.State() != raft.Leader {
		return AppendResult{Err: kerr.NotLeaderForPartition}
	}
	cmd := binary.BigEndian.AppendUint64(nil, uint64(offset))
	return (&AppendFuture{f: p.raft.ApplyLog(raft.Log{Data: cmd, Extensions: extTruncate}, 5*time.Second)}).Wait()
}

// ReadOptions bound a Read.
type ReadOptions struct {
	// MaxBytes bounds the bytes returned; whole batches only.
	MaxBytes int
	// MinOne returns the first batch even when it is larger than MaxBytes
	// (KIP-74), so a consumer can always make progress.
	MinOne bool
	// MaxOffset stops before batches starting at or past it (the high
	// watermark, or the last stable offset for read_committed).
	MaxOffset int64
	// Alloc, when set and dst has no room, gives the buffer the batches
	// are read into: a slice of length 0 and capacity at least n (the
	// caller's pool). Nil allocates.
	Alloc func(n int) []byte
}

// ErrOffsetOutOfRange is returned when the fetch offset is below the log
// start or above the high watermark.
var ErrOffsetOutOfRange = kerr.OffsetOutOfRange

// Read appends to dst the stored batches that hold offsets from offset on,
// with base offset and partition leader epoch filled in.
func (p *Partition) Read(offset int64, o ReadOptions, dst []byte) ([]byte, error) {
	// The snapshot first: the FSM commits a truncation before it moves the
	// log start, so a log start read after the snapshot is at least the
	// one the snapshot holds, and a read below it is out of range rather
	// than answered with later batches.
	snap := p.store.db.NewSnapshot()
	defer snap.Close()
	logStart, hw := p.Offsets()
	if o.MaxOffset <= 0 || o.MaxOffset > hw {
		o.MaxOffset = hw
	}
	if offset < logStart || offset > hw {
		return dst, ErrOffsetOutOfRange
	}
	if offset == hw {
		return dst, nil
	}
	idx, err := snap.NewIter(&pebble.IterOptions{
		LowerBound: groupKey(p.group, kindOffset, uint64(offset)),
		UpperBound: groupPrefix(p.group, kindOffset+1),
	})
	if err != nil {
		return dst, err
	}
	defer idx.Close()
	logs, err := snap.NewIter(&pebble.IterOptions{
		LowerBound: groupPrefix(p.group, kindLog),
		UpperBound: groupPrefix(p.group, kindLog+1),
	})
	if err != nil {
		return dst, err
	}
	defer logs.Close()

	// First pass: the index entries that fit, so dst grows once.
	var entries []indexEntry
	total := 0
	for ok := idx.First(); ok; ok = idx.Next() {
		e := decodeIndexEntry(idx.Value())
		if e.baseOffset >= o.MaxOffset {
			break
		}
		if total+int(e.size) > o.MaxBytes && !(o.MinOne && total == 0) {
			break
		}
		entries = append(entries, e)
		total += int(e.size)
	}
	if err := idx.Error(); err != nil {
		return dst, err
	}
	if o.Alloc != nil && cap(dst)-len(dst) < total {
		dst = append(o.Alloc(len(dst) + total)[:0], dst...)
	}
	dst = slices.Grow(dst, total)
	start := len(dst)
	var key []byte
	for _, e := range entries {
		key = appendGroupKey(key, p.group, kindLog, e.raftIndex)
		if !logs.SeekGE(key) || keySuffix(logs.Key()) != e.raftIndex {
			break // reclaimed by retention meanwhile
		}
		v, err := logs.ValueAndErr()
		if err != nil {
			return dst, err
		}
		n := len(dst)
		var term uint64
		dst, term, err = p.log.appendData(dst, v)
		if errors.Is(err, errSegmentGone) {
			break // reclaimed by retention meanwhile
		}
		if err == nil && len(dst)-n < protocol.BatchHeaderSize {
			err = errors.New("shorter than a batch header")
		}
		if err != nil {
			return dst[:n], fmt.Errorf("partition group %d raft entry %d: %w", p.group, e.raftIndex, err)
		}
		protocol.SetBaseOffset(dst[n:], e.baseOffset)
		protocol.SetPartitionLeaderEpoch(dst[n:], int32(term))
	}
	if invariants {
		checkRead(p.group, offset, o.MaxOffset, dst[start:])
	}
	return dst, nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the end offset of the given
// epoch (the start offset of the next larger epoch, or the log end offset)
// and the largest epoch ≤ the requested one. (-1, -1) if unknown.
func (p *Partition) EndOffsetForEpoch(epoch int32) (int32, int64) {
	if cur := p.LeaderEpoch(); epoch > cur {
		return -1, -1 // an epoch this log has not reached: undefined, as Kafka answers
	} else if epoch == cur {
		_, end := p.Offsets()
		return cur, end
	}
	p.fsm.mu.Lock()
	defer p.fsm.mu.Unlock()
	es := p.fsm.epochs
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Epoch <= epoch {
			if i == len(es)-1 {
				return es[i].Epoch, p.fsm.next
			}
			return es[i].Epoch, es[i+1].StartOffset
		}
	}
	if len(es) == 0 && epoch >= 0 {
		return epoch, p.fsm.next
	}
	return -1, -1
}

// SetSegmentBytes sets the size at which the partition's segment file rolls
// over (the topic's segment.bytes), from the next write; n <= 0 keeps the
// store's default.
func (p *Partition) SetSegmentBytes(n int64) {
	if p.log.segs != nil {
		p.log.segs.setLimit(n)
	}
}

// Close stops the partition's Raft group; its data stays.
func (p *Partition) Close() error {
	err := p.raft.Shutdown().Error()
	p.log.close()
	return err
}

// Delete stops the group and removes all its data from the store.
func (p *Partition) Delete() error {
	if err := p.Close(); err != nil && !errors.Is(err, raft.ErrRaftShutdown) {
		return err
	}
	return p.store.DeleteGroup(p.group)
}
