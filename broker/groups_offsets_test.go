package broker

import (
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func fetchRaw(t testing.TB, c net.Conn, ver int16, group string, topic string, parts ...int32) *kmsg.OffsetFetchResponse {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = ver
	if ver >= 8 {
		rg := kmsg.OffsetFetchRequestGroup{Group: group}
		if topic != "" {
			rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: parts}}
		}
		req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
	} else {
		req.Group = group
		if topic != "" {
			req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: parts}}
		}
	}
	return rawSend(t, c, req).(*kmsg.OffsetFetchResponse)
}

// TestGroupOffsetCommitFetch covers admin commits, metadata round trips,
// per-partition errors and the OffsetFetch forms of every version.
func TestGroupOffsetCommitFetch(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "offs", 3)
	c := dialRaw(t, tb.addr())

	// A group nobody has seen: -1, no error, in every version.
	for _, v := range []int16{1, 5, 7, 8, 9} {
		resp := fetchRaw(t, c, v, "never-seen", "offs", 0, 1)
		var p kmsg.OffsetFetchResponseTopicPartition
		if v >= 8 {
			g := resp.Groups[0]
			expectCode(t, "fetch unknown group", g.ErrorCode, 0)
			p = kmsg.OffsetFetchResponseTopicPartition(g.Topics[0].Partitions[1])
		} else {
			expectCode(t, "fetch unknown group", resp.ErrorCode, 0)
			p = resp.Topics[0].Partitions[1]
		}
		if p.Offset != -1 || p.ErrorCode != 0 {
			t.Fatalf("v%d unknown group: %+v", v, p)
		}
	}
	if resp := fetchRaw(t, c, 7, "never-seen", ""); len(resp.Topics) != 0 || resp.ErrorCode != 0 {
		t.Fatalf("all offsets of an unknown group: %+v", resp)
	}

	// An unknown group with a generation: ILLEGAL_GENERATION before v9,
	// GROUP_ID_NOT_FOUND from v9. Generation -1 creates a simple group.
	expectCode(t, "v8 commit to unknown group", commitRaw(t, c, 8, "simple", "m", 3, "offs", 0, 1, nil), kerr.IllegalGeneration.Code)
	expectCode(t, "v9 commit to unknown group", commitRaw(t, c, 9, "simple", "m", 3, "offs", 0, 1, nil), kerr.GroupIDNotFound.Code)
	meta := strings.Repeat("m", 100)
	expectCode(t, "admin commit", commitRaw(t, c, 2, "simple", "", -1, "offs", 0, 42, &meta), 0)
	expectCode(t, "admin commit p2", commitRaw(t, c, 9, "simple", "", -1, "offs", 2, 7, nil), 0)
	expectCode(t, "unknown topic", commitRaw(t, c, 9, "simple", "", -1, "nope", 0, 1, nil), kerr.UnknownTopicOrPartition.Code)
	expectCode(t, "unknown partition", commitRaw(t, c, 9, "simple", "", -1, "offs", 3, 1, nil), kerr.UnknownTopicOrPartition.Code)
	big := strings.Repeat("x", offsetMetadataMaxBytes+1)
	expectCode(t, "metadata too large", commitRaw(t, c, 9, "simple", "", -1, "offs", 1, 1, &big), kerr.OffsetMetadataTooLarge.Code)

	resp := fetchRaw(t, c, 9, "simple", "offs", 0, 1)
	p0, p1 := resp.Groups[0].Topics[0].Partitions[0], resp.Groups[0].Topics[0].Partitions[1]
	if p0.Offset != 42 || p0.Metadata == nil || *p0.Metadata != meta || p1.Offset != -1 {
		t.Fatalf("fetch after commit: %+v %+v", p0, p1)
	}
	all := fetchRaw(t, c, 7, "simple", "")
	if len(all.Topics) != 1 || len(all.Topics[0].Partitions) != 2 || all.Topics[0].Partitions[1].Offset != 7 {
		t.Fatalf("fetch all: %+v", all.Topics)
	}

	// Several groups in one v8 request.
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "simple"}, {Group: "other", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "offs", Partitions: []int32{0}}}}}
	multi := rawSend(t, c, req).(*kmsg.OffsetFetchResponse)
	if len(multi.Groups) != 2 || len(multi.Groups[0].Topics[0].Partitions) != 2 || multi.Groups[1].Topics[0].Partitions[0].Offset != -1 {
		t.Fatalf("multi-group fetch: %+v", multi.Groups)
	}
}

// TestGroupAdminAPIs covers ListGroups filters, DescribeGroups of unknown
// groups, OffsetDelete, DeleteGroups, and offsets leaving with their topic.
func TestGroupAdminAPIs(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "adm", 2)
	createTopic(t, cl, "adm2", 1)
	c := dialRaw(t, tb.addr())
	expectCode(t, "commit", commitRaw(t, c, 9, "idle", "", -1, "adm", 0, 5, nil), 0)
	expectCode(t, "commit", commitRaw(t, c, 9, "idle", "", -1, "adm", 1, 6, nil), 0)
	expectCode(t, "commit", commitRaw(t, c, 9, "idle", "", -1, "adm2", 0, 1, nil), 0)
	live := join(t, tb.addr(), 3, "live", "", nil)
	expectCode(t, "join live", live.ErrorCode, 0)
	waitSync(t, syncAsync(t, tb.addr(), "live", live.MemberID, live.Generation, nil, map[string]string{live.MemberID: "a"}))

	list := func(ver int16, states, types []string) []string {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version, req.StatesFilter, req.TypesFilter = ver, states, types
		var names []string
		for _, g := range rawSend(t, c, req).(*kmsg.ListGroupsResponse).Groups {
			names = append(names, g.Group+":"+g.GroupState)
		}
		return names
	}
	if got := strings.Join(list(5, nil, nil), " "); got != "idle:Empty live:Stable" {
		t.Fatalf("list: %s", got)
	}
	if got := strings.Join(list(4, []string{"empty"}, nil), " "); got != "idle:Empty" {
		t.Fatalf("list empty: %s", got)
	}
	if got := list(5, nil, []string{"consumer"}); len(got) != 0 {
		t.Fatalf("list consumer-protocol groups: %v", got)
	}

	d := kmsg.NewPtrDescribeGroupsRequest()
	d.Version = 6
	d.Groups = []string{"nope"}
	if g := rawSend(t, c, d).(*kmsg.DescribeGroupsResponse).Groups[0]; g.ErrorCode != kerr.GroupIDNotFound.Code || g.State != "Dead" {
		t.Fatalf("describe unknown v6: %+v", g)
	}
	d.Version = 5
	if g := rawSend(t, c, d).(*kmsg.DescribeGroupsResponse).Groups[0]; g.ErrorCode != 0 || g.State != "Dead" {
		t.Fatalf("describe unknown v5: %+v", g)
	}

	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "idle"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "adm", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}, {Partition: 9}}}}
	odr := rawSend(t, c, od).(*kmsg.OffsetDeleteResponse)
	if odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != 0 || odr.Topics[0].Partitions[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("offset delete: %+v", odr)
	}
	if p := fetchRaw(t, c, 9, "idle", "adm", 1).Groups[0].Topics[0].Partitions[0]; p.Offset != -1 {
		t.Fatalf("deleted offset still fetched: %+v", p)
	}
	od.Group = "live"
	expectCode(t, "offset delete in a live group", rawSend(t, c, od).(*kmsg.OffsetDeleteResponse).ErrorCode, 0)
	od.Group = "nope"
	expectCode(t, "offset delete of unknown group", rawSend(t, c, od).(*kmsg.OffsetDeleteResponse).ErrorCode, kerr.GroupIDNotFound.Code)

	// Deleting topic adm removes its offsets; idle keeps adm2's.
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{"adm"}
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: strp("adm")}}
	if r := send[*kmsg.DeleteTopicsResponse](t, cl, dt); r.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete topic: %s", errName(r.Topics[0].ErrorCode))
	}
	all := fetchRaw(t, c, 7, "idle", "")
	if len(all.Topics) != 1 || all.Topics[0].Topic != "adm2" {
		t.Fatalf("offsets after topic delete: %+v", all.Topics)
	}

	dg := kmsg.NewPtrDeleteGroupsRequest()
	dg.Version = 2
	dg.Groups = []string{"idle", "live", "nope"}
	dgr := rawSend(t, c, dg).(*kmsg.DeleteGroupsResponse)
	codes := []int16{dgr.Groups[0].ErrorCode, dgr.Groups[1].ErrorCode, dgr.Groups[2].ErrorCode}
	if codes[0] != 0 || codes[1] != kerr.NonEmptyGroup.Code || codes[2] != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete groups: %v", codes)
	}
	if all := fetchRaw(t, c, 7, "idle", ""); len(all.Topics) != 0 {
		t.Fatalf("offsets of a deleted group: %+v", all.Topics)
	}
	if got := strings.Join(list(5, nil, nil), " "); strings.Contains(got, "idle") {
		t.Fatalf("deleted group still listed: %s", got)
	}
}
