package raftlog

import (
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// Consumer groups of the KIP-848 protocol (ConsumerGroupHeartbeat) in the
// offsets group. Kafka writes one record per member subscription, current
// assignment and target assignment, plus group and target epochs; Skiff
// stores the whole group as one value per change instead (a group is a few
// hundred bytes per member), which keeps replay trivial and a change atomic.
//
// A group id names either a classic group (kindGroupMeta) or a consumer group
// (kindConsumerGroup), never both: storing one removes the other, as Kafka
// writes the tombstones of the old type when it converts an empty group.

// kindConsumerGroup is the key kind of a consumer group (see doc.go).
const kindConsumerGroup = 'k' // group | 'k' | groupName (KIP-848)

// cmdStoreConsumerGroup replaces the stored state of a consumer group.
const cmdStoreConsumerGroup = 6

// ConsumerTopicPartitions is the partitions of one topic, by topic id, in a
// member's assignment. Epochs, when set, has the epoch each partition was
// assigned in (KIP-1251: commits of an older member epoch are accepted for
// partitions the member already owned then).
type ConsumerTopicPartitions struct {
	TopicID    [16]byte
	Partitions []int32
	Epochs     []int32 // nil, or one per partition
}

// ConsumerMember is one member of a consumer group.
type ConsumerMember struct {
	MemberID           string
	InstanceID         string // "" for a dynamic member
	RackID             string
	ClientID           string
	ClientHost         string
	MemberEpoch        int32
	PreviousEpoch      int32
	State              int8 // the coordinator's reconciliation state
	RebalanceTimeoutMs int32
	SubscribedTopics   []string
	SubscribedRegex    string
	ServerAssignor     string
	Assigned           []ConsumerTopicPartitions // with epochs
	PendingRevocation  []ConsumerTopicPartitions // with epochs
	Target             []ConsumerTopicPartitions // the target assignment, without epochs
}

// ConsumerGroupMeta is a consumer group as the coordinator stores it after
// every change a client is answered about.
type ConsumerGroupMeta struct {
	Group           string
	Epoch           int32 // group epoch
	AssignmentEpoch int32 // target assignment epoch
	MetadataHash    uint64
	Members         []ConsumerMember
}

// StoreConsumerGroup replaces the stored state of a consumer group, and
// removes classic group metadata of the same name.
func (o *Offsets) StoreConsumerGroup(g *ConsumerGroupMeta) *OffsetsFuture {
	return o.submit(cmdStoreConsumerGroup, encodeConsumerGroup(nil, g))
}

// ConsumerGroups returns the stored consumer groups, ordered by name. The
// values are shared with the FSM and must not be changed.
func (o *Offsets) ConsumerGroups() []*ConsumerGroupMeta {
	o.fsm.mu.RLock()
	defer o.fsm.mu.RUnlock()
	out := make([]*ConsumerGroupMeta, 0, len(o.fsm.consumers))
	for _, g := range o.fsm.consumers {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// applyStoreConsumerGroup is the FSM side of StoreConsumerGroup; f.mu is held.
func (f *offsetsFSM) applyStoreConsumerGroup(b *pebble.Batch, data []byte) error {
	d := decoder{b: data}
	g := decodeConsumerGroup(&d)
	if d.err != nil {
		return d.err
	}
	if f.groups[g.Group] != nil {
		delete(f.groups, g.Group)
		b.Delete(groupKeyName(OffsetsGroup, kindGroupMeta, g.Group), nil)
	}
	f.consumers[g.Group] = g
	b.Set(groupKeyName(OffsetsGroup, kindConsumerGroup, g.Group), data, nil)
	return nil
}

// dropConsumerGroup removes a consumer group's state (a classic group of
// the name is stored, or the group is deleted); f.mu is held.
func (f *offsetsFSM) dropConsumerGroup(b *pebble.Batch, group string) {
	if f.consumers[group] == nil {
		return
	}
	delete(f.consumers, group)
	b.Delete(groupKeyName(OffsetsGroup, kindConsumerGroup, group), nil)
}

// loadConsumerGroups reads the stored consumer groups at open.
func (f *offsetsFSM) loadConsumerGroups() error {
	it, err := f.db.NewIter(&pebble.IterOptions{
		LowerBound: groupPrefix(OffsetsGroup, kindConsumerGroup),
		UpperBound: groupPrefix(OffsetsGroup, kindConsumerGroup+1),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		d := decoder{b: it.Value()}
		g := decodeConsumerGroup(&d)
		if d.err != nil {
			return fmt.Errorf("consumer group %q: %w", it.Key()[9:], d.err)
		}
		f.consumers[g.Group] = g
	}
	return it.Error()
}
