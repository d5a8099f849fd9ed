package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
)

// OffsetsGroup is the Raft group id that holds consumer group state: committed
// offsets and group metadata, what Kafka keeps in __consumer_offsets. It is
// far above the partition group ids the controller hands out (NextGroup counts
// up from 1), so the two can never meet.
const OffsetsGroup uint64 = 1 << 62

// Key kinds of the offsets group (see doc.go).
const (
	kindCommitted = 'f' // group | 'f' | len(g) g len(t) t partition(4)
	kindGroupMeta = 'g' // group | 'g' | groupName
)

// Commands of the offsets group, carried in the Raft entry's Extensions
// (one byte) with a binary body in Data (see groups_codec.go).
const (
	cmdCommitOffsets = 1 // group, [(topic, partition, committed)]
	cmdDeleteOffsets = 2 // group, [(topic, partition)]
	cmdStoreGroup    = 3 // GroupMeta
	cmdDeleteGroup   = 4 // group: its metadata and every offset
	cmdDeleteTopic   = 5 // topic: its offsets in every group
	// cmdStoreConsumerGroup (6) is in consumergroups.go.
)

// offsetsTrailingLogs bounds the offsets group's Raft log: its FSM state is
// all in Pebble, so entries before a snapshot are not needed, unlike a
// partition's log, which is the data.
const offsetsTrailingLogs = 4096

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Committed is one committed consumer offset.
type Committed struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  int64 // unix ms, set by the coordinator
}

// OffsetCommit is one partition's offset in a commit.
type OffsetCommit struct {
	TopicPartition
	Committed
}

// GroupMember is one member of a stored group, as of its last rebalance.
type GroupMember struct {
	MemberID           string
	InstanceID         string // group.instance.id of a static member, or ""
	ClientID           string
	ClientHost         string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	Subscription       []byte // metadata for the group's selected protocol
	Assignment         []byte
}

// GroupMeta is a consumer group as the coordinator stores it after each
// rebalance: enough to resume a stable group after a restart.
type GroupMeta struct {
	Group        string
	ProtocolType string
	Protocol     string
	Leader       string
	Generation   int32
	StateTime    int64 // unix ms of the last state change
	Members      []GroupMember
}

// Offsets is the offsets group of this node: committed offsets and group
// metadata stored through Raft. Every change is answered after its Raft entry
// is committed (the log store syncs), so an acknowledged commit survives
// kill -9. Reads come from memory, loaded from Pebble at open.
type Offsets struct {
	raft *raft.Raft
	fsm  *offsetsFSM
}

// OpenOffsets starts (or resumes) the offsets group.
func OpenOffsets(s *Store, o GroupOptions) (*Offsets, error) {
	f := &offsetsFSM{db: s.db, offsets: map[string]map[TopicPartition]Committed{}, groups: map[string]*GroupMeta{},
		consumers: map[string]*ConsumerGroupMeta{}}
	if err := f.load(); err != nil {
		return nil, fmt.Errorf("load consumer group state: %w", err)
	}
	o.trailingLogs = offsetsTrailingLogs
	r, _, err := startGroup(s, OffsetsGroup, f, o)
	if err != nil {
		return nil, err
	}
	return &Offsets{raft: r, fsm: f}, nil
}

// WaitLeader blocks until this node leads the offsets group and has applied
// every entry of its log.
func (o *Offsets) WaitLeader(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for o.raft.State() != raft.Leader {
		if time.Now().After(deadline) {
			return errors.New("consumer group coordinator has no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return o.raft.Barrier(timeout).Error()
}

// IsLeader reports whether this node is the group coordinator.
func (o *Offsets) IsLeader() bool { return o.raft.State() == raft.Leader }

// Close stops the offsets group; its data stays.
func (o *Offsets) Close() error { return o.raft.Shutdown().Error() }

// Snapshot forces a Raft snapshot (tests; Raft takes them on its own).
func (o *Offsets) Snapshot() error { return o.raft.Snapshot().Error() }

// OffsetsFuture is a change in flight through Raft.
type OffsetsFuture struct {
	f   raft.ApplyFuture
	err error
}

// Wait blocks until the change is committed and applied, and returns a Kafka
// error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, ...) or nil.
func (f *OffsetsFuture) Wait() error {
	if f.err != nil {
		return f.err
	}
	if err := f.f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrRaftShutdown):
			return kerr.NotCoordinator
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return kerr.RequestTimedOut
		}
		return kerr.CoordinatorNotAvailable
	}
	if err, ok := f.f.Response().(error); ok {
		return err
	}
	return nil
}

var offsetsExt = [...][]byte{
	cmdCommitOffsets: {cmdCommitOffsets},
	cmdDeleteOffsets: {cmdDeleteOffsets},
	cmdStoreGroup:    {cmdStoreGroup},
	cmdDeleteGroup:   {cmdDeleteGroup},
	cmdDeleteTopic:   {cmdDeleteTopic},

	cmdStoreConsumerGroup: {cmdStoreConsumerGroup},
}

// submit hands a command to Raft without waiting: changes submitted in order
// are applied in that order.
func (o *Offsets) submit(cmd byte, data []byte) *OffsetsFuture {
	if o.raft.State() != raft.Leader {
		return &OffsetsFuture{err: kerr.NotCoordinator}
	}
	return &OffsetsFuture{f: o.raft.ApplyLog(raft.Log{Data: data, Extensions: offsetsExt[cmd]}, 0)}
}

// Commit stores the offsets of one group.
func (o *Offsets) Commit(group string, commits []OffsetCommit) *OffsetsFuture {
	return o.submit(cmdCommitOffsets, encodeCommit(group, commits))
}

// DeleteOffsets removes committed offsets of one group (OffsetDelete).
func (o *Offsets) DeleteOffsets(group string, tps []TopicPartition) *OffsetsFuture {
	return o.submit(cmdDeleteOffsets, encodeDeleteOffsets(group, tps))
}

// StoreGroup replaces the stored metadata of a group.
func (o *Offsets) StoreGroup(g *GroupMeta) *OffsetsFuture {
	return o.submit(cmdStoreGroup, encodeGroupMeta(nil, g))
}

// DeleteGroup removes a group's metadata and all its offsets.
func (o *Offsets) DeleteGroup(group string) *OffsetsFuture {
	return o.submit(cmdDeleteGroup, appendStr(nil, group))
}

// DeleteTopic removes the offsets of a deleted topic from every group.
func (o *Offsets) DeleteTopic(topic string) *OffsetsFuture {
	return o.submit(cmdDeleteTopic, appendStr(nil, topic))
}

// Fetch returns the committed offset of one partition.
func (o *Offsets) Fetch(group string, tp TopicPartition) (Committed, bool) {
	o.fsm.mu.RLock()
	defer o.fsm.mu.RUnlock()
	c, ok := o.fsm.offsets[group][tp]
	return c, ok
}

// FetchMany appends to out the committed offset of each partition, or one
// with Offset -1 and LeaderEpoch -1 where nothing is committed.
func (o *Offsets) FetchMany(group string, tps []TopicPartition, out []Committed) []Committed {
	o.fsm.mu.RLock()
	defer o.fsm.mu.RUnlock()
	m := o.fsm.offsets[group]
	for _, tp := range tps {
		c, ok := m[tp]
		if !ok {
			c = Committed{Offset: -1, LeaderEpoch: -1}
		}
		out = append(out, c)
	}
	return out
}

// GroupOffsets returns every committed offset of a group, ordered by topic
// and partition.
func (o *Offsets) GroupOffsets(group string) []OffsetCommit {
	o.fsm.mu.RLock()
	out := make([]OffsetCommit, 0, len(o.fsm.offsets[group]))
	for tp, c := range o.fsm.offsets[group] {
		out = append(out, OffsetCommit{tp, c})
	}
	o.fsm.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// HasOffsets reports whether a group has any committed offset.
func (o *Offsets) HasOffsets(group string) bool {
	o.fsm.mu.RLock()
	defer o.fsm.mu.RUnlock()
	return len(o.fsm.offsets[group]) > 0
}

// Groups returns copies of the stored group metadata, and a bare entry for
// each group that has offsets but no metadata (one that only ever committed
// offsets, like an admin tool or a consumer with manual assignment).
func (o *Offsets) Groups() []GroupMeta {
	o.fsm.mu.RLock()
	defer o.fsm.mu.RUnlock()
	var out []GroupMeta
	for _, g := range o.fsm.groups {
		c := *g
		c.Members = append([]GroupMember(nil), g.Members...)
		out = append(out, c)
	}
	for name := range o.fsm.offsets {
		if o.fsm.groups[name] == nil && o.fsm.consumers[name] == nil {
			out = append(out, GroupMeta{Group: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// offsetsFSM applies the offsets group's entries to Pebble (not synced: the
// Raft log is, and replays skip what was applied) and to the memory maps.
type offsetsFSM struct {
	db *pebble.DB

	mu        sync.RWMutex
	applied   uint64
	offsets   map[string]map[TopicPartition]Committed // by group
	groups    map[string]*GroupMeta
	consumers map[string]*ConsumerGroupMeta // KIP-848 groups (consumergroups.go)
	keyBuf    []byte
}

var _ raft.BatchingFSM = (*offsetsFSM)(nil)

func (f *offsetsFSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *offsetsFSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	b := f.db.NewBatch()
	defer b.Close()
	f.mu.Lock()
	for i, l := range logs {
		if l.Index <= f.applied {
			continue // replayed after a restart: already in Pebble
		}
		f.applied = l.Index
		if l.Type != raft.LogCommand || len(l.Extensions) != 1 {
			continue
		}
		if err := f.applyCmd(b, l.Extensions[0], l.Data); err != nil {
			out[i] = err
		}
	}
	b.Set(groupPrefix(OffsetsGroup, kindMeta), binary.BigEndian.AppendUint64(nil, f.applied), nil)
	f.mu.Unlock()
	if err := b.Commit(pebble.NoSync); err != nil {
		panic(fmt.Sprintf("offsets group: write FSM state: %v", err))
	}
	return out
}

func (f *offsetsFSM) applyCmd(b *pebble.Batch, cmd byte, data []byte) error {
	d := decoder{b: data}
	switch cmd {
	case cmdCommitOffsets:
		group, commits := decodeCommit(&d)
		if d.err != nil {
			break
		}
		m := f.offsets[group]
		if m == nil {
			m = map[TopicPartition]Committed{}
			f.offsets[group] = m
		}
		for _, c := range commits {
			m[c.TopicPartition] = c.Committed
			f.keyBuf = appendCommittedKey(f.keyBuf[:0], group, c.TopicPartition)
			b.Set(f.keyBuf, encodeCommitted(nil, c.Committed), nil)
		}
	case cmdDeleteOffsets:
		group, tps := decodeDeleteOffsets(&d)
		if d.err != nil {
			break
		}
		for _, tp := range tps {
			f.deleteOffset(b, group, tp)
		}
	case cmdStoreGroup:
		g := decodeGroupMeta(&d)
		if d.err != nil {
			break
		}
		f.groups[g.Group] = g
		b.Set(groupKeyName(OffsetsGroup, kindGroupMeta, g.Group), data, nil)
		f.dropConsumerGroup(b, g.Group)
	case cmdStoreConsumerGroup:
		return f.applyStoreConsumerGroup(b, data)
	case cmdDeleteGroup:
		group := d.str()
		if d.err != nil {
			break
		}
		delete(f.offsets, group)
		delete(f.groups, group)
		lo := appendGroupOffsetsPrefix(nil, group)
		b.DeleteRange(lo, prefixEnd(lo), nil)
		b.Delete(groupKeyName(OffsetsGroup, kindGroupMeta, group), nil)
		f.dropConsumerGroup(b, group)
	case cmdDeleteTopic:
		topic := d.str()
		if d.err != nil {
			break
		}
		for group, m := range f.offsets {
			for tp := range m {
				if tp.Topic == topic {
					f.deleteOffset(b, group, tp)
				}
			}
		}
	default:
		return fmt.Errorf("unknown offsets command %d", cmd)
	}
	if d.err != nil {
		return fmt.Errorf("offsets command %d: %w", cmd, d.err)
	}
	return nil
}

func (f *offsetsFSM) deleteOffset(b *pebble.Batch, group string, tp TopicPartition) {
	m := f.offsets[group]
	if _, ok := m[tp]; !ok {
		return
	}
	delete(m, tp)
	if len(m) == 0 {
		delete(f.offsets, group)
	}
	f.keyBuf = appendCommittedKey(f.keyBuf[:0], group, tp)
	b.Delete(f.keyBuf, nil)
}

// load reads the state persisted in Pebble: one scan of the offsets group's
// FSM keys (one per committed partition and one per group), not of any log.
func (f *offsetsFSM) load() error {
	v, ok, err := (&Store{db: f.db}).get(groupPrefix(OffsetsGroup, kindMeta))
	if err != nil {
		return err
	}
	if ok && len(v) == 8 {
		f.applied = binary.BigEndian.Uint64(v)
	}
	it, err := f.db.NewIter(&pebble.IterOptions{
		LowerBound: groupPrefix(OffsetsGroup, kindCommitted),
		UpperBound: groupPrefix(OffsetsGroup, kindCommitted+1),
	})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		group, tp, err := parseCommittedKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		d := decoder{b: it.Value()}
		c := decodeCommitted(&d)
		if d.err != nil {
			it.Close()
			return fmt.Errorf("offset of group %q %s-%d: %w", group, tp.Topic, tp.Partition, d.err)
		}
		if f.offsets[group] == nil {
			f.offsets[group] = map[TopicPartition]Committed{}
		}
		f.offsets[group][tp] = c
	}
	if err := it.Close(); err != nil {
		return err
	}
	it, err = f.db.NewIter(&pebble.IterOptions{
		LowerBound: groupPrefix(OffsetsGroup, kindGroupMeta),
		UpperBound: groupPrefix(OffsetsGroup, kindGroupMeta+1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		d := decoder{b: it.Value()}
		g := decodeGroupMeta(&d)
		if d.err != nil {
			return fmt.Errorf("group %q: %w", it.Key()[9:], d.err)
		}
		f.groups[g.Group] = g
	}
	if err := it.Error(); err != nil {
		return err
	}
	return f.loadConsumerGroups()
}

// Snapshot: the state is in Pebble; a snapshot syncs it and records the
// applied index, so Raft may drop the log before it.
func (f *offsetsFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	v := binary.BigEndian.AppendUint64(nil, f.applied)
	f.mu.RUnlock()
	return &metaSnapshot{db: f.db, meta: v}, nil
}

// Restore only happens on a follower that a leader sends a snapshot to;
// replicating the offsets group by snapshot is not implemented yet (single
// node), so it keeps the applied index.
func (f *offsetsFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	v, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if len(v) != 8 {
		return errors.New("bad offsets snapshot")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = binary.BigEndian.Uint64(v)
	return f.db.Set(groupPrefix(OffsetsGroup, kindMeta), v, pebble.Sync)
}
