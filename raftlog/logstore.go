package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// groupLog is one group's raft.LogStore and raft.StableStore inside the
// node's Pebble. StoreLogs commits with pebble.Sync; concurrent commits of
// different groups share one WAL fsync in Pebble's commit pipeline.
type groupLog struct {
	db    *pebble.DB
	group uint64
	// first and last cache the index range; 0 means empty.
	first, last atomic.Uint64
	// segs, when set (partitions), holds the entries; Pebble then keeps a
	// pointer per entry. Nil (the controller and offsets groups, whose
	// entries are small) keeps entries inline in Pebble.
	segs *segments
	ptrs []segPtr // StoreLogs' scratch; Raft calls it from one goroutine
}

var (
	_ raft.LogStore    = (*groupLog)(nil)
	_ raft.StableStore = (*groupLog)(nil)
)

func newGroupLog(s *Store, group uint64, segmented bool) (*groupLog, error) {
	l := &groupLog{db: s.db, group: group}
	lo := groupPrefix(group, kindLog)
	hi := groupPrefix(group, kindLog+1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if it.First() {
		l.first.Store(keySuffix(it.Key()))
	}
	if it.Last() {
		l.last.Store(keySuffix(it.Key()))
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if segmented {
		segs, err := s.openSegments(group, l.first.Load(), l.last.Load())
		if err != nil {
			return nil, err
		}
		l.segs = segs
	}
	return l, nil
}

func (l *groupLog) FirstIndex() (uint64, error) { return l.first.Load(), nil }
func (l *groupLog) LastIndex() (uint64, error)  { return l.last.Load(), nil }

func (l *groupLog) GetLog(index uint64, out *raft.Log) error {
	v, closer, err := l.db.Get(groupKey(l.group, kindLog, index))
	if errors.Is(err, pebble.ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if isPtr(v) {
		if l.segs == nil {
			return fmt.Errorf("group %d raft entry %d: a segment pointer in a group without segments", l.group, index)
		}
		ptr, err := decodePtr(v)
		if err != nil {
			return fmt.Errorf("group %d raft entry %d: %w", l.group, index, err)
		}
		e, err := l.segs.readEntry(ptr, index)
		if err != nil {
			return fmt.Errorf("group %d raft entry %d: %w", l.group, index, err)
		}
		if err := decodeLog(e, out, false); err != nil {
			return fmt.Errorf("group %d raft entry %d: %w", l.group, index, err)
		}
		out.Index = index
		return nil
	}
	if err := decodeLog(v, out, true); err != nil {
		return fmt.Errorf("group %d raft entry %d: %w", l.group, index, err)
	}
	out.Index = index
	return nil
}

func (l *groupLog) StoreLog(log *raft.Log) error { return l.StoreLogs([]*raft.Log{log}) }

func (l *groupLog) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	if l.segs != nil {
		return l.storeSegmented(logs)
	}
	size := 0
	for _, lg := range logs {
		size += 17 + 16 + encodedLogSize(lg) // key, record overhead, value
	}
	b := l.db.NewBatchWithSize(size) // no regrowth copies of large batches
	defer b.Close()
	var key []byte
	for _, lg := range logs {
		key = appendGroupKey(key, l.group, kindLog, lg.Index)
		op := b.SetDeferred(len(key), encodedLogSize(lg))
		copy(op.Key, key)
		encodeLog(op.Value[:0], lg)
		op.Finish()
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("group %d store raft entries: %w", l.group, err)
	}
	l.stored(logs)
	return nil
}

// stored moves the cached index range over logs, once they are durable.
func (l *groupLog) stored(logs []*raft.Log) {
	if l.first.Load() == 0 {
		l.first.Store(logs[0].Index)
	}
	l.last.Store(logs[len(logs)-1].Index)
}

// storeSegmented writes the entries to the group's segment (synced), then
// their pointers to Pebble (synced): once StoreLogs returns, both are durable,
// and a pointer never names a record that is not.
func (l *groupLog) storeSegmented(logs []*raft.Log) error {
	ptrs, err := l.segs.append(logs, l.ptrs[:0])
	if err != nil {
		return fmt.Errorf("group %d store raft entries: %w", l.group, err)
	}
	l.ptrs = ptrs
	b := l.db.NewBatchWithSize(len(logs) * (17 + 16 + 48))
	defer b.Close()
	var key, val []byte
	for i, lg := range logs {
		key = appendGroupKey(key, l.group, kindLog, lg.Index)
		val = appendPtr(val[:0], ptrs[i])
		if err := b.Set(key, val, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("group %d store raft entry pointers: %w", l.group, err)
	}
	l.stored(logs)
	return nil
}

// close closes the group's segment files.
func (l *groupLog) close() {
	if l.segs != nil {
		l.segs.close()
	}
}

// DeleteRange removes raft entries [min, max]. Raft calls it to truncate a
// conflicting suffix on a follower; retention calls it for a prefix.
//
// With segments, the pointers go first (synced), then the files that hold
// only deleted entries: a crash in between leaves files no pointer names,
// which openSegments removes.
func (l *groupLog) DeleteRange(min, max uint64) error {
	err := l.db.DeleteRange(groupKey(l.group, kindLog, min), groupKey(l.group, kindLog, max+1), pebble.Sync)
	if err != nil {
		return err
	}
	first, last := l.first.Load(), l.last.Load()
	if l.segs != nil {
		switch {
		case min <= first && max >= last:
			err = l.segs.dropBelow(0)
		case min <= first:
			err = l.segs.dropBelow(max + 1)
		case max >= last:
			err = l.segs.dropFrom(min)
		}
		if err != nil {
			return fmt.Errorf("group %d drop segments: %w", l.group, err)
		}
	}
	switch {
	case min <= first && max >= last:
		l.first.Store(0)
		l.last.Store(0)
	case min <= first:
		l.first.Store(max + 1)
	case max >= last:
		l.last.Store(min - 1)
	}
	return nil
}

// Stable store.

func (l *groupLog) Set(key, val []byte) error {
	return l.db.Set(groupKeyName(l.group, kindStable, string(key)), val, pebble.Sync)
}

func (l *groupLog) Get(key []byte) ([]byte, error) {
	v, ok, err := (&Store{db: l.db}).get(groupKeyName(l.group, kindStable, string(key)))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("not found")
	}
	return v, nil
}

func (l *groupLog) SetUint64(key []byte, val uint64) error {
	return l.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

func (l *groupLog) GetUint64(key []byte) (uint64, error) {
	v, err := l.Get(key)
	if err != nil || len(v) != 8 {
		return 0, nil // hashicorp/raft treats a missing value as zero.
	}
	return binary.BigEndian.Uint64(v), nil
}

// Raft entry encoding: type(1) term(uvarint) appendedAt(varint unix ns)
// extLen(uvarint) ext data. Data is last so it can be sliced without a copy.

func encodedLogSize(l *raft.Log) int {
	return 1 + uvarintLen(l.Term) + varintLen(appendedAtNanos(l)) +
		uvarintLen(uint64(len(l.Extensions))) + len(l.Extensions) + len(l.Data)
}

func appendedAtNanos(l *raft.Log) int64 {
	if l.AppendedAt.IsZero() {
		return 0
	}
	return l.AppendedAt.UnixNano()
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}

func encodeLog(dst []byte, l *raft.Log) []byte {
	return append(encodeLogPrefix(dst, l), l.Data...)
}

// encodeLogPrefix is encodeLog without the Data.
func encodeLogPrefix(dst []byte, l *raft.Log) []byte {
	dst = append(dst, byte(l.Type))
	dst = binary.AppendUvarint(dst, l.Term)
	dst = binary.AppendVarint(dst, appendedAtNanos(l))
	dst = binary.AppendUvarint(dst, uint64(len(l.Extensions)))
	return append(dst, l.Extensions...)
}

// decodeLog fills out from an encoded entry. With copyData the data is copied
// (the caller keeps it past the Pebble value's lifetime).
func decodeLog(v []byte, out *raft.Log, copyData bool) error {
	if len(v) < 1 {
		return errors.New("empty raft entry")
	}
	out.Type = raft.LogType(v[0])
	p := 1
	term, n := binary.Uvarint(v[p:])
	if n <= 0 {
		return errors.New("bad term")
	}
	p += n
	at, n := binary.Varint(v[p:])
	if n <= 0 {
		return errors.New("bad append time")
	}
	p += n
	extLen, n := binary.Uvarint(v[p:])
	if n <= 0 || extLen > uint64(len(v)-p-n) {
		return errors.New("bad extensions")
	}
	p += n
	out.Term = term
	out.AppendedAt = time.Time{}
	if at != 0 {
		out.AppendedAt = time.Unix(0, at)
	}
	out.Extensions = nil
	if extLen > 0 {
		out.Extensions = append([]byte(nil), v[p:p+int(extLen)]...)
	}
	p += int(extLen)
	if copyData {
		out.Data = append([]byte(nil), v[p:]...)
	} else {
		out.Data = v[p:]
	}
	return nil
}

// appendData appends the Data of the entry whose 'l' value is v to dst and
// returns its term: from v itself (inline), or read from its segment straight
// into dst (a pointer; errSegmentGone if retention removed the segment since
// the pointer was read). Fetch reads batches with it.
func (l *groupLog) appendData(dst, v []byte) ([]byte, uint64, error) {
	if !isPtr(v) {
		var e raft.Log
		if err := decodeLog(v, &e, false); err != nil {
			return dst, 0, err
		}
		return append(dst, e.Data...), e.Term, nil
	}
	ptr, err := decodePtr(v)
	if err != nil {
		return dst, 0, err
	}
	if l.segs == nil {
		return dst, 0, errors.New("a segment pointer in a group without segments")
	}
	n, size := len(dst), int(ptr.entryLen-ptr.dataOff)
	dst = slices.Grow(dst, size)[:n+size]
	if err := l.segs.readAt(ptr.seg, dst[n:], int64(ptr.off+ptr.dataOff)); err != nil {
		return dst[:n], 0, err
	}
	return dst, ptr.term, nil
}

var pebbleLog atomic.Pointer[slog.Logger]

// SetLogger sets the logger used for storage errors.
func SetLogger(l *slog.Logger) { pebbleLog.Store(l) }

func pebbleLogger() *slog.Logger {
	if l := pebbleLog.Load(); l != nil {
		return l
	}
	return slog.Default()
}
