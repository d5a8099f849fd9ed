package raftlog

import (
	"reflect"
	"testing"
)

func testConsumerGroup(name string, epoch int32) *ConsumerGroupMeta {
	return &ConsumerGroupMeta{Group: name, Epoch: epoch, AssignmentEpoch: epoch - 1, MetadataHash: 0xfeedface12345678,
		Members: []ConsumerMember{{
			MemberID: "m1", InstanceID: "i1", RackID: "r", ClientID: "c", ClientHost: "/127.0.0.1",
			MemberEpoch: epoch - 1, PreviousEpoch: epoch - 2, State: 1, RebalanceTimeoutMs: 300000,
			SubscribedTopics: []string{"a", "b"}, SubscribedRegex: "x.*", ServerAssignor: "range",
			Assigned:          []ConsumerTopicPartitions{{TopicID: [16]byte{1}, Partitions: []int32{0, 2}, Epochs: []int32{3, 4}}},
			PendingRevocation: []ConsumerTopicPartitions{{TopicID: [16]byte{2}, Partitions: []int32{5}, Epochs: []int32{1}}},
			Target:            []ConsumerTopicPartitions{{TopicID: [16]byte{1}, Partitions: []int32{0, 1, 2}}},
		}, {MemberID: "m2"}},
	}
}

// TestRaftlogConsumerGroupStore checks that a consumer group round-trips
// through Raft and a restart, that it replaces classic metadata of the same
// name (and the other way round), and that DeleteGroup removes it.
func TestRaftlogConsumerGroupStore(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	o := openTestOffsets(t, s)
	mustWait(t, o.StoreGroup(&GroupMeta{Group: "g", ProtocolType: "consumer", Generation: 3}))
	mustWait(t, o.Commit("g", []OffsetCommit{commitOf("t", 0, 5, "")}))
	want := testConsumerGroup("g", 7)
	mustWait(t, o.StoreConsumerGroup(want))
	mustWait(t, o.StoreConsumerGroup(testConsumerGroup("other", 2)))
	if gs := o.Groups(); len(gs) != 0 {
		t.Fatalf("classic groups after a consumer group of the same name was stored: %+v", gs)
	}
	o.Close()
	s.Close()

	s = openTestStore(t, nil, dir)
	defer s.Close()
	o = openTestOffsets(t, s)
	defer o.Close()
	cgs := o.ConsumerGroups()
	if len(cgs) != 2 || !reflect.DeepEqual(cgs[0], want) || cgs[1].Group != "other" {
		t.Fatalf("consumer groups after restart: %+v", cgs)
	}
	if c, ok := o.Fetch("g", TopicPartition{"t", 0}); !ok || c.Offset != 5 {
		t.Fatalf("offset of the consumer group after restart: %+v", c)
	}
	mustWait(t, o.DeleteGroup("g"))
	mustWait(t, o.StoreGroup(&GroupMeta{Group: "other", ProtocolType: "consumer"}))
	if cgs := o.ConsumerGroups(); len(cgs) != 0 {
		t.Fatalf("consumer groups after delete and a classic store: %+v", cgs)
	}
	if gs := o.Groups(); len(gs) != 1 || gs[0].Group != "other" {
		t.Fatalf("classic groups: %+v", gs)
	}
}

// FuzzRaftlogConsumerGroupDecode feeds damaged bytes to the consumer group
// decoder. Invariants: no panic, no unbounded allocation, a nil group only
// with an error, and a decoded value encodes back to what decodes the same.
func FuzzRaftlogConsumerGroupDecode(f *testing.F) {
	f.Add(encodeConsumerGroup(nil, testConsumerGroup("g", 3)))
	f.Add(encodeConsumerGroup(nil, &ConsumerGroupMeta{Group: "e"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decoder{b: b}
		g := decodeConsumerGroup(&d)
		if d.err != nil {
			return
		}
		if g == nil {
			t.Fatal("nil group without error")
		}
		again := encodeConsumerGroup(nil, g)
		d2 := decoder{b: again}
		g2 := decodeConsumerGroup(&d2)
		if d2.err != nil || !reflect.DeepEqual(g, g2) {
			t.Fatalf("consumer group does not round-trip: %v", d2.err)
		}
	})
}
