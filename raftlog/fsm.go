package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiffstream/skiff/protocol"
)

// Commands carried in a partition group's Raft entries. The command is the
// entry's Extensions (one byte) so that Data can be the produced batch
// exactly as the client sent it: no copy on the way in or out.
const (
	// cmdAppend: Data is one record batch v2 as validated by the leader;
	// its base offset is assigned by Apply.
	cmdAppend = 1
	// cmdTruncate: Data is newLogStartOffset(8). DeleteRecords, retention.
	cmdTruncate = 2
	// cmdAppendTransformed: as cmdAppend, for a batch a produce-time
	// SmartModule chain made from the produced one. Extensions carry,
	// after the command byte, the produced batch's lastOffsetDelta
	// (int32, big-endian): the idempotent producer's sequence numbers
	// count the records it sent, not those stored. A batch of zero
	// records (everything filtered out) records the sequence and stores
	// nothing.
	cmdAppendTransformed = 3
)

var (
	extAppend   = []byte{cmdAppend}
	extTruncate = []byte{cmdTruncate}
)

// AppendResult is what Apply decided for one produced batch.
type AppendResult struct {
	BaseOffset     int64
	LogStartOffset int64
	// Err is a Kafka error (kerr) or nil. A duplicate of an earlier
	// idempotent batch is not an error: it reports the first BaseOffset.
	Err error
}

// epochStart records the first offset written in a leader epoch (Raft term),
// for OffsetForLeaderEpoch.
type epochStart struct {
	Epoch       int32
	StartOffset int64
}

// producerState is the idempotence window of one producer id: its epoch and
// the sequence ranges of its last five batches, as Kafka keeps them.
type producerState struct {
	epoch   int16
	batches []seqBatch // oldest first, at most maxProducerBatches
}

type seqBatch struct {
	first, last int32
	baseOffset  int64
}

const maxProducerBatches = 5

// partitionFSM applies a partition group's committed entries. Its durable
// state is in Pebble (index, producers, meta); the fields below mirror it.
type partitionFSM struct {
	db    *pebble.DB
	group uint64

	mu        sync.Mutex // guards the fields below against readers
	applied   uint64
	next      int64 // log end offset = high watermark (only committed entries are applied)
	logStart  int64
	bytes     int64 // stored bytes of the batches from logStart on
	epochs    []epochStart
	producers map[int64]*producerState
	// reclaimBelow is the Raft index of the first batch still retained; Raft
	// entries below it may be deleted (see Partition.reclaim).
	reclaimBelow uint64

	onAdvance func() // called after applied entries moved the high watermark
	keyBuf    []byte
}

var _ raft.BatchingFSM = (*partitionFSM)(nil)

func newPartitionFSM(db *pebble.DB, group uint64) (*partitionFSM, error) {
	f := &partitionFSM{db: db, group: group, producers: map[int64]*producerState{}}
	if err := f.load(); err != nil {
		return nil, fmt.Errorf("load partition group %d: %w", group, err)
	}
	return f, nil
}

func (f *partitionFSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

func (f *partitionFSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	b := f.db.NewBatch()
	defer b.Close()
	f.mu.Lock()
	advanced := false
	for i, l := range logs {
		if l.Index <= f.applied {
			// Replayed after a restart: already in Pebble.
			out[i] = AppendResult{Err: errReplayed}
			continue
		}
		f.applied = l.Index
		if l.Type != raft.LogCommand || len(l.Extensions) == 0 {
			continue
		}
		switch l.Extensions[0] {
		case cmdAppend:
			r := f.applyAppend(b, l, l.Data, -1)
			advanced = advanced || r.Err == nil
			out[i] = r
		case cmdAppendTransformed:
			if len(l.Extensions) != 5 {
				out[i] = AppendResult{Err: kerr.InvalidRequest}
				continue
			}
			r := f.applyAppend(b, l, l.Data, int32(binary.BigEndian.Uint32(l.Extensions[1:])))
			advanced = advanced || r.Err == nil
			out[i] = r
		case cmdTruncate:
			if len(l.Data) != 8 {
				out[i] = AppendResult{Err: kerr.InvalidRequest}
				continue
			}
			out[i] = f.applyTruncate(b, int64(binary.BigEndian.Uint64(l.Data)))
			advanced = true
		default:
			out[i] = AppendResult{Err: fmt.Errorf("unknown partition command %d", l.Extensions[0])}
		}
	}
	b.Set(groupPrefix(f.group, kindMeta), f.encodeMeta(), nil)
	// Commit before unlocking: Offsets reads the high watermark under f.mu,
	// and a reader that sees it must find the index entries of every batch
	// below it (a restart's replay used to show a high watermark whose last
	// batches Read could not find yet).
	err := b.Commit(pebble.NoSync)
	f.mu.Unlock()
	if err != nil {
		// Pebble failing to write is not recoverable for this node: the
		// FSM would diverge from its log.
		panic(fmt.Sprintf("partition group %d: write FSM state: %v", f.group, err))
	}
	if advanced && f.onAdvance != nil {
		f.onAdvance()
	}
	return out
}

var errReplayed = errors.New("entry already applied before restart")

// applyAppend applies one append. seqDelta, when not negative, is the
// lastOffsetDelta of the batch the producer sent (cmdAppendTransformed).
func (f *partitionFSM) applyAppend(b *pebble.Batch, l *raft.Log, batch []byte, seqDelta int32) AppendResult {
	h, err := protocol.ParseBatchHeader(batch)
	if err != nil || h.TotalSize() != len(batch) {
		return AppendResult{Err: kerr.CorruptMessage}
	}
	count := int64(h.LastOffsetDelta) + 1
	seq := h // the producer's view, for sequence checks
	if seqDelta >= 0 {
		seq.LastOffsetDelta = seqDelta
	}
	var ps *producerState
	if h.ProducerID >= 0 {
		var dup int64
		ps, dup, err = f.checkSequence(seq)
		if err != nil {
			return AppendResult{Err: err, LogStartOffset: f.logStart}
		}
		if dup != noDup {
			return AppendResult{BaseOffset: dup, LogStartOffset: f.logStart}
		}
	}
	if seqDelta >= 0 && h.NumRecords == 0 {
		// Everything was filtered out: remember the sequence, store nothing.
		if ps != nil {
			f.recordSequence(b, h.ProducerID, ps, seq, -1)
		}
		return AppendResult{BaseOffset: -1, LogStartOffset: f.logStart}
	}
	base := f.next
	f.next += count
	if invariants {
		f.checkAppend(base, count)
	}
	f.bytes += int64(len(batch))
	epoch := int32(l.Term)
	if n := len(f.epochs); n == 0 || f.epochs[n-1].Epoch < epoch {
		f.epochs = append(f.epochs, epochStart{Epoch: epoch, StartOffset: base})
	}
	if f.reclaimBelow == 0 {
		f.reclaimBelow = l.Index
	}
	f.keyBuf = appendGroupKey(f.keyBuf, f.group, kindOffset, uint64(f.next-1))
	b.Set(f.keyBuf, encodeIndexEntry(indexEntry{raftIndex: l.Index, baseOffset: base, maxTimestamp: h.MaxTimestamp, size: int32(len(batch))}), nil)
	if ps != nil {
		f.recordSequence(b, h.ProducerID, ps, seq, base)
	}
	return AppendResult{BaseOffset: base, LogStartOffset: f.logStart}
}

// recordSequence remembers an accepted batch of an idempotent producer.
func (f *partitionFSM) recordSequence(b *pebble.Batch, pid int64, ps *producerState, h protocol.BatchHeader, base int64) {
	ps.epoch = h.ProducerEpoch
	ps.batches = append(ps.batches, seqBatch{first: h.BaseSequence, last: h.BaseSequence + h.LastOffsetDelta, baseOffset: base})
	if len(ps.batches) > maxProducerBatches {
		ps.batches = ps.batches[1:]
	}
	f.producers[pid] = ps
	b.Set(groupKey(f.group, kindProducer, uint64(pid)), ps.encode(), nil)
}

// noDup is checkSequence's answer for a batch that is not a duplicate (a
// duplicate's base offset may be -1: a batch a filter emptied).
const noDup = math.MinInt64

// checkSequence applies Kafka's idempotent producer rules. It returns the
// producer's state to update, or the base offset of the duplicate batch
// (else -1), or a Kafka error.
func (f *partitionFSM) checkSequence(h protocol.BatchHeader) (*producerState, int64, error) {
	first, last := h.BaseSequence, h.BaseSequence+h.LastOffsetDelta
	ps := f.producers[h.ProducerID]
	switch {
	case ps == nil:
		// Unknown producer: accept any sequence (its state may have been
		// removed by retention), as Kafka does since KIP-360.
		return &producerState{epoch: h.ProducerEpoch}, noDup, nil
	case h.ProducerEpoch < ps.epoch:
		return nil, noDup, kerr.InvalidProducerEpoch
	case h.ProducerEpoch > ps.epoch:
		if first != 0 {
			return nil, noDup, kerr.OutOfOrderSequenceNumber
		}
		return &producerState{epoch: h.ProducerEpoch}, noDup, nil
	}
	for _, sb := range ps.batches {
		if sb.first == first && sb.last == last {
			return nil, sb.baseOffset, nil
		}
	}
	if n := len(ps.batches); n > 0 {
		expect := ps.batches[n-1].last + 1 // int32 overflow wraps to MinInt32...
		if ps.batches[n-1].last == 1<<31-1 {
			expect = 0 // ...but Kafka wraps sequences to 0.
		}
		if first != expect {
			return nil, noDup, kerr.OutOfOrderSequenceNumber
		}
	}
	cp := &producerState{epoch: ps.epoch, batches: append([]seqBatch(nil), ps.batches...)}
	return cp, noDup, nil
}

// applyTruncate moves the log start offset forward (DeleteRecords,
// retention) and drops the index entries of batches wholly below it.
func (f *partitionFSM) applyTruncate(b *pebble.Batch, newStart int64) AppendResult {
	if newStart > f.next || newStart < 0 {
		return AppendResult{Err: kerr.OffsetOutOfRange, LogStartOffset: f.logStart}
	}
	if newStart <= f.logStart {
		return AppendResult{LogStartOffset: f.logStart}
	}
	lo := groupKey(f.group, kindOffset, 0)
	hi := groupKey(f.group, kindOffset, uint64(newStart)) // batches with last offset < newStart
	if it, err := f.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi}); err == nil {
		for it.First(); it.Valid(); it.Next() {
			f.bytes -= int64(decodeIndexEntry(it.Value()).size)
		}
		it.Close()
	}
	b.DeleteRange(lo, hi, nil)
	prev := f.logStart
	f.logStart = newStart
	if invariants {
		f.checkTruncate(prev)
	}
	// The first retained batch tells how far Raft entries may be reclaimed.
	if e, ok := f.seekIndex(newStart); ok {
		f.reclaimBelow = e.raftIndex
	} else {
		f.reclaimBelow = f.applied + 1
	}
	return AppendResult{LogStartOffset: f.logStart}
}

// seekIndex finds the batch holding offset, reading committed Pebble state.
func (f *partitionFSM) seekIndex(offset int64) (indexEntry, bool) {
	it, err := f.db.NewIter(&pebble.IterOptions{
		LowerBound: groupKey(f.group, kindOffset, uint64(offset)),
		UpperBound: groupPrefix(f.group, kindOffset+1),
	})
	if err != nil {
		return indexEntry{}, false
	}
	defer it.Close()
	if !it.First() {
		return indexEntry{}, false
	}
	return decodeIndexEntry(it.Value()), true
}

// indexEntry is the value of an offset index key (group|'o'|lastOffset).
type indexEntry struct {
	raftIndex    uint64
	baseOffset   int64
	maxTimestamp int64
	size         int32
}

const indexEntrySize = 28

func encodeIndexEntry(e indexEntry) []byte {
	v := make([]byte, indexEntrySize)
	binary.BigEndian.PutUint64(v, e.raftIndex)
	binary.BigEndian.PutUint64(v[8:], uint64(e.baseOffset))
	binary.BigEndian.PutUint64(v[16:], uint64(e.maxTimestamp))
	binary.BigEndian.PutUint32(v[24:], uint32(e.size))
	return v
}

func decodeIndexEntry(v []byte) indexEntry {
	if len(v) < indexEntrySize {
		return indexEntry{}
	}
	return indexEntry{
		raftIndex:    binary.BigEndian.Uint64(v),
		baseOffset:   int64(binary.BigEndian.Uint64(v[8:])),
		maxTimestamp: int64(binary.BigEndian.Uint64(v[16:])),
		size:         int32(binary.BigEndian.Uint32(v[24:])),
	}
}

func (ps *producerState) encode() []byte {
	v := binary.BigEndian.AppendUint16(nil, uint16(ps.epoch))
	v = append(v, byte(len(ps.batches)))
	for _, sb := range ps.batches {
		v = binary.BigEndian.AppendUint32(v, uint32(sb.first))
		v = binary.BigEndian.AppendUint32(v, uint32(sb.last))
		v = binary.BigEndian.AppendUint64(v, uint64(sb.baseOffset))
	}
	return v
}

func decodeProducerState(v []byte) (*producerState, error) {
	if len(v) < 3 || len(v) != 3+16*int(v[2]) {
		return nil, errors.New("bad producer state")
	}
	ps := &producerState{epoch: int16(binary.BigEndian.Uint16(v))}
	for p := 3; p < len(v); p += 16 {
		ps.batches = append(ps.batches, seqBatch{
			first:      int32(binary.BigEndian.Uint32(v[p:])),
			last:       int32(binary.BigEndian.Uint32(v[p+4:])),
			baseOffset: int64(binary.BigEndian.Uint64(v[p+8:])),
		})
	}
	return ps, nil
}

// Meta: applied(8) next(8) logStart(8) reclaimBelow(8) bytes(8) n(4) n×(epoch(4) start(8)).
const metaFixed = 44

func (f *partitionFSM) encodeMeta() []byte {
	v := make([]byte, 0, metaFixed+12*len(f.epochs))
	v = binary.BigEndian.AppendUint64(v, f.applied)
	v = binary.BigEndian.AppendUint64(v, uint64(f.next))
	v = binary.BigEndian.AppendUint64(v, uint64(f.logStart))
	v = binary.BigEndian.AppendUint64(v, f.reclaimBelow)
	v = binary.BigEndian.AppendUint64(v, uint64(f.bytes))
	v = binary.BigEndian.AppendUint32(v, uint32(len(f.epochs)))
	for _, e := range f.epochs {
		v = binary.BigEndian.AppendUint32(v, uint32(e.Epoch))
		v = binary.BigEndian.AppendUint64(v, uint64(e.StartOffset))
	}
	return v
}

func (f *partitionFSM) decodeMeta(v []byte) error {
	if len(v) < metaFixed {
		return errors.New("short partition meta")
	}
	f.applied = binary.BigEndian.Uint64(v)
	f.next = int64(binary.BigEndian.Uint64(v[8:]))
	f.logStart = int64(binary.BigEndian.Uint64(v[16:]))
	f.reclaimBelow = binary.BigEndian.Uint64(v[24:])
	f.bytes = int64(binary.BigEndian.Uint64(v[32:]))
	n := int(binary.BigEndian.Uint32(v[40:]))
	if len(v) != metaFixed+12*n {
		return errors.New("bad partition meta length")
	}
	f.epochs = f.epochs[:0]
	for p := metaFixed; p < len(v); p += 12 {
		f.epochs = append(f.epochs, epochStart{
			Epoch:       int32(binary.BigEndian.Uint32(v[p:])),
			StartOffset: int64(binary.BigEndian.Uint64(v[p+4:])),
		})
	}
	return nil
}

// load reads the FSM state persisted in Pebble: no scan of the log.
func (f *partitionFSM) load() error {
	s := &Store{db: f.db}
	v, ok, err := s.get(groupPrefix(f.group, kindMeta))
	if err != nil {
		return err
	}
	if ok {
		if err := f.decodeMeta(v); err != nil {
			return err
		}
	}
	it, err := f.db.NewIter(&pebble.IterOptions{
		LowerBound: groupPrefix(f.group, kindProducer),
		UpperBound: groupPrefix(f.group, kindProducer+1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		ps, err := decodeProducerState(it.Value())
		if err != nil {
			return err
		}
		f.producers[int64(keySuffix(it.Key()))] = ps
	}
	return it.Error()
}

// Snapshot: the FSM state lives in Pebble, so a snapshot only has to make
// it durable (sync the WAL) and carry the small meta for followers.
func (f *partitionFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	meta := f.encodeMeta()
	f.mu.Unlock()
	return &metaSnapshot{db: f.db, meta: meta}, nil
}

// Restore is only called when a leader installs a snapshot on a follower
// (Skiff sets NoSnapshotRestoreOnStart). Replication of partition data by
// snapshot is not implemented yet: it keeps the meta only.
func (f *partitionFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	v, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.decodeMeta(v); err != nil {
		return err
	}
	return f.db.Set(groupPrefix(f.group, kindMeta), v, pebble.Sync)
}

type metaSnapshot struct {
	db   *pebble.DB
	meta []byte
}

func (s *metaSnapshot) Persist(sink raft.SnapshotSink) error {
	// Make every FSM write up to this point durable before Raft records the
	// snapshot: after a restart Raft will not re-apply entries below it.
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		sink.Cancel()
		return err
	}
	if _, err := sink.Write(s.meta); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *metaSnapshot) Release() {}
