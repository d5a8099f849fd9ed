package broker

import (
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit and OffsetFetch v10 (KIP-848): topics named by id. The
// answers checked here are the ones Apache Kafka 4.4 gives to the same raw
// requests (see the header of 08_offset_commit.go for where they differ).

// idParts is one topic of a v10 request: its id and partitions.
type idParts struct {
	id    [16]byte
	parts []int32
}

var unknownID = [16]byte{0xde, 0xad, 0xbe, 0xef, 1}

// commitV10 commits offset 100+p for each partition p, with metadata "m".
func commitV10(t testing.TB, c net.Conn, group, member string, gen int32, topics ...idParts) *kmsg.OffsetCommitResponse {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 10
	req.Group, req.MemberID, req.Generation = group, member, gen
	for _, tp := range topics {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.TopicID = tp.id
		for _, p := range tp.parts {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.Metadata = p, 100+int64(p), strp("m")
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return rawSend(t, c, req).(*kmsg.OffsetCommitResponse)
}

// fetchGroupV10 is one group of a v10 fetch; nil topics fetch all.
func fetchGroupV10(group string, topics ...idParts) kmsg.OffsetFetchRequestGroup {
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	if topics != nil {
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
	}
	for _, tp := range topics {
		rg.Topics = append(rg.Topics, kmsg.OffsetFetchRequestGroupTopic{TopicID: tp.id, Partitions: tp.parts})
	}
	return rg
}

func fetchV10(t testing.TB, c net.Conn, groups ...kmsg.OffsetFetchRequestGroup) []kmsg.OffsetFetchResponseGroup {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 10
	req.Groups = groups
	resp := rawSend(t, c, req).(*kmsg.OffsetFetchResponse)
	if len(resp.Groups) != len(groups) {
		t.Fatalf("fetch of %d groups answered %d", len(groups), len(resp.Groups))
	}
	return resp.Groups
}

// expectOffsets checks a fetched topic: its id and each partition's offset
// and error, in order.
func expectOffsets(t testing.TB, what string, got kmsg.OffsetFetchResponseGroupTopic, id [16]byte, want ...[3]int64) {
	t.Helper()
	if got.TopicID != id || len(got.Partitions) != len(want) {
		t.Fatalf("%s: topic %x with %d partitions, want %x with %d", what, got.TopicID, len(got.Partitions), id, len(want))
	}
	for i, p := range got.Partitions {
		if w := want[i]; int64(p.Partition) != w[0] || p.Offset != w[1] || int64(p.ErrorCode) != w[2] {
			t.Fatalf("%s: partition %d offset %d %s, want %d offset %d %s", what, p.Partition, p.Offset, errName(p.ErrorCode), w[0], w[1], errName(int16(w[2])))
		}
	}
}

// TestGroupOffsetsV10 commits and fetches by topic id: unknown ids are
// UNKNOWN_TOPIC_ID whatever the group, the single- and multi-group forms of
// OffsetFetch answer with ids, and v9 by name still sees the same offsets.
func TestGroupOffsetsV10(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "by-id", 3)
	id := tb.view.Load().byName["by-id"].meta.ID
	c := dialRaw(t, tb.addr())
	const g = "v10-group"
	ok, unknownTopicID := int64(0), int64(kerr.UnknownTopicID.Code)

	resp := commitV10(t, c, g, "", -1, idParts{id, []int32{0, 1}}, idParts{unknownID, []int32{0}}, idParts{id, []int32{9}})
	if len(resp.Topics) != 3 || resp.Topics[0].TopicID != id || resp.Topics[1].TopicID != unknownID {
		t.Fatalf("commit by id answered topics %+v", resp.Topics)
	}
	for i, p := range resp.Topics[0].Partitions {
		expectCode(t, "commit by id", p.ErrorCode, 0)
		if p.Partition != int32(i) {
			t.Fatalf("commit by id answered partition %d at %d", p.Partition, i)
		}
	}
	expectCode(t, "commit to an unknown id", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
	expectCode(t, "commit to a partition the topic lacks", resp.Topics[2].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	expectCode(t, "commit to the zero id", commitV10(t, c, g, "", -1, idParts{[16]byte{}, []int32{0}}).Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)

	// Unknown ids are answered before the group is looked at, as in Kafka.
	resp = commitV10(t, c, "nobody", "m", 3, idParts{id, []int32{0}}, idParts{unknownID, []int32{1}})
	expectCode(t, "known id, unknown group", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupIDNotFound.Code)
	expectCode(t, "unknown id, unknown group", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
	resp = commitV10(t, c, "nobody", "m", 3, idParts{unknownID, []int32{1}})
	expectCode(t, "only unknown ids, unknown group", resp.Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)

	// Fetch by id, with an unknown id, which Kafka lists after the known ones.
	fg := fetchV10(t, c, fetchGroupV10(g, idParts{unknownID, []int32{0}}, idParts{id, []int32{0, 1, 2}}))[0]
	if fg.ErrorCode != 0 || len(fg.Topics) != 2 {
		t.Fatalf("fetch by id: %s %+v", errName(fg.ErrorCode), fg.Topics)
	}
	expectOffsets(t, "fetch by id", fg.Topics[0], id, [3]int64{0, 100, ok}, [3]int64{1, 101, ok}, [3]int64{2, -1, ok})
	expectOffsets(t, "fetch of an unknown id", fg.Topics[1], unknownID, [3]int64{0, -1, unknownTopicID})
	if m := fg.Topics[0].Partitions[0].Metadata; m == nil || *m != "m" {
		t.Fatalf("fetch by id: metadata %v", m)
	}

	// v9 by name commits to the same offsets v10 reads, and the other way.
	expectCode(t, "v9 commit by name", commitRaw(t, c, 9, g, "", -1, "by-id", 2, 7, nil), 0)
	expectCode(t, "v9 commit to an unknown name", commitRaw(t, c, 9, g, "", -1, "no-such", 0, 7, nil), kerr.UnknownTopicOrPartition.Code)
	v9 := fetchRaw(t, c, 9, g, "by-id", 0, 2).Groups[0].Topics[0]
	if v9.Topic != "by-id" || v9.Partitions[0].Offset != 100 || v9.Partitions[1].Offset != 7 {
		t.Fatalf("v9 fetch by name: %+v", v9)
	}

	// Several groups: by id, an unknown group, and all offsets of a group.
	gs := fetchV10(t, c,
		fetchGroupV10(g, idParts{id, []int32{2}}),
		fetchGroupV10("never-seen", idParts{id, []int32{0}}, idParts{unknownID, []int32{0}}),
		fetchGroupV10(g),
		fetchGroupV10("never-seen"))
	expectOffsets(t, "multi-group, by id", gs[0].Topics[0], id, [3]int64{2, 7, ok})
	expectOffsets(t, "multi-group, unknown group", gs[1].Topics[0], id, [3]int64{0, -1, ok})
	expectOffsets(t, "multi-group, unknown group and id", gs[1].Topics[1], unknownID, [3]int64{0, -1, unknownTopicID})
	expectOffsets(t, "multi-group, all", gs[2].Topics[0], id, [3]int64{0, 100, ok}, [3]int64{1, 101, ok}, [3]int64{2, 7, ok})
	if len(gs[2].Topics) != 1 || len(gs[3].Topics) != 0 || gs[3].ErrorCode != 0 {
		t.Fatalf("multi-group: all offsets %+v, of an unknown group %+v", gs[2].Topics, gs[3])
	}
}

// TestConsumerGroupOffsetsV10: a consumer-protocol member commits and
// fetches by topic id at its epoch; the epoch checks apply to known ids
// only, an unknown one is UNKNOWN_TOPIC_ID.
func TestConsumerGroupOffsetsV10(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "offs", 2)
	id := tb.view.Load().byName["offs"].meta.ID
	c := dialRaw(t, tb.addr())
	const g = "v10-consumers"
	e := cgOK(t, c, cgJoin(g, "m", "offs")).MemberEpoch

	resp := commitV10(t, c, g, "m", e, idParts{id, []int32{1}}, idParts{unknownID, []int32{0}})
	expectCode(t, "member commit by id", resp.Topics[0].Partitions[0].ErrorCode, 0)
	expectCode(t, "member commit to an unknown id", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
	resp = commitV10(t, c, g, "m", e+1, idParts{id, []int32{1}}, idParts{unknownID, []int32{0}})
	expectCode(t, "commit from a newer epoch", resp.Topics[0].Partitions[0].ErrorCode, kerr.StaleMemberEpoch.Code)
	expectCode(t, "unknown id from a newer epoch", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID.Code)
	expectCode(t, "commit by a stranger", commitV10(t, c, g, "x", e, idParts{id, []int32{1}}).Topics[0].Partitions[0].ErrorCode, kerr.UnknownMemberID.Code)

	rg := fetchGroupV10(g, idParts{id, []int32{1}})
	rg.MemberID, rg.MemberEpoch = strp("m"), e
	fg := fetchV10(t, c, rg)[0]
	if fg.ErrorCode != 0 || len(fg.Topics) != 1 {
		t.Fatalf("member fetch by id: %s %+v", errName(fg.ErrorCode), fg.Topics)
	}
	expectOffsets(t, "member fetch by id", fg.Topics[0], id, [3]int64{1, 101, 0})
	rg.MemberEpoch = e + 1
	if fg := fetchV10(t, c, rg)[0]; fg.ErrorCode != kerr.StaleMemberEpoch.Code || len(fg.Topics) != 0 {
		t.Fatalf("fetch at a stale epoch: %s %+v", errName(fg.ErrorCode), fg.Topics)
	}
}
