package broker

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Unit tests of the consumer group protocol (KIP-848) state machine, over
// raw connections so each request goes at the version chosen, the way the
// Java client sends them: a join with epoch 0 and the full subscription,
// then heartbeats with the member epoch and only what changed.

// cgReq builds a ConsumerGroupHeartbeat v1 of a member.
func cgReq(group, member string, epoch int32) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = group, member, epoch
	return req
}

// cgJoin is a full join request subscribing to topics.
func cgJoin(group, member string, topics ...string) *kmsg.ConsumerGroupHeartbeatRequest {
	req := cgReq(group, member, 0)
	req.RebalanceTimeoutMillis = 30000
	req.SubscribedTopicNames = append([]string{}, topics...)
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	return req
}

func cgSend(t testing.TB, c net.Conn, req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	t.Helper()
	return rawSend(t, c, req).(*kmsg.ConsumerGroupHeartbeatResponse)
}

// cgOK sends a heartbeat that must succeed.
func cgOK(t testing.TB, c net.Conn, req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	t.Helper()
	resp := cgSend(t, c, req)
	if resp.ErrorCode != 0 {
		t.Fatalf("heartbeat of %s epoch %d: %s (%v)", req.MemberID, req.MemberEpoch, errName(resp.ErrorCode), strOr(resp.ErrorMessage))
	}
	return resp
}

func strOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// owned turns a heartbeat's assignment into the owned partitions of the
// next heartbeat (nil assignment: nil, "unchanged").
func owned(a *kmsg.ConsumerGroupHeartbeatResponseAssignment) []kmsg.ConsumerGroupHeartbeatRequestTopic {
	if a == nil {
		return nil
	}
	out := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, t := range a.Topics {
		out = append(out, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t.TopicID, Partitions: slices.Clone(t.Partitions)})
	}
	return out
}

func countParts(a *kmsg.ConsumerGroupHeartbeatResponseAssignment) int {
	if a == nil {
		return -1
	}
	n := 0
	for _, t := range a.Topics {
		n += len(t.Partitions)
	}
	return n
}

func cgDescribe(t testing.TB, c net.Conn, group string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Version = 1
	req.Groups = []string{group}
	return rawSend(t, c, req).(*kmsg.ConsumerGroupDescribeResponse).Groups[0]
}

// memberParts returns a described member's current partitions by topic.
func memberParts(d kmsg.ConsumerGroupDescribeResponseGroup, id string) map[string][]int32 {
	for _, m := range d.Members {
		if m.MemberID == id {
			out := map[string][]int32{}
			for _, tp := range m.Assignment.TopicPartitions {
				out[tp.Topic] = tp.Partitions
			}
			return out
		}
	}
	return nil
}

func fastConsumerGroups(c *Config) {
	c.ConsumerGroupSessionTimeout = 10 * time.Second
	c.ConsumerGroupHeartbeatInterval = 100 * time.Millisecond
}

// TestConsumerGroupReconciliation walks two members through a join and a
// rebalance: the second member gets partitions only after the first has
// revoked them, epochs move as Kafka's, and the group goes Assigning →
// Reconciling → Stable. Then one leaves and the other takes everything.
func TestConsumerGroupReconciliation(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	createTopic(t, newClient(t, tb.addr()), "recon", 6)
	c := dialRaw(t, tb.addr())
	const g = "recon-group"

	a := cgOK(t, c, cgJoin(g, "member-a", "recon"))
	if a.MemberEpoch != 1 || countParts(a.Assignment) != 6 || a.HeartbeatIntervalMillis != 100 || *a.MemberID != "member-a" {
		t.Fatalf("first join: epoch %d, %d partitions, interval %d", a.MemberEpoch, countParts(a.Assignment), a.HeartbeatIntervalMillis)
	}
	aOwned := owned(a.Assignment)
	hb := cgReq(g, "member-a", 1)
	hb.Topics = aOwned
	if r := cgOK(t, c, hb); r.Assignment != nil || r.MemberEpoch != 1 {
		t.Fatalf("steady heartbeat: epoch %d, assignment %v", r.MemberEpoch, r.Assignment)
	}
	if d := cgDescribe(t, c, g); d.State != "Stable" || d.Epoch != 1 || d.AssignmentEpoch != 1 || d.AssignorName != "uniform" {
		t.Fatalf("describe after one join: %+v", d)
	}

	// b joins: the target splits the partitions, but all are a's.
	b := cgOK(t, c, cgJoin(g, "member-b", "recon"))
	if b.MemberEpoch != 2 || countParts(b.Assignment) != 0 {
		t.Fatalf("second join: epoch %d, %d partitions; want epoch 2 and nothing yet", b.MemberEpoch, countParts(b.Assignment))
	}
	if d := cgDescribe(t, c, g); d.State != "Reconciling" || d.Epoch != 2 || d.AssignmentEpoch != 2 {
		t.Fatalf("describe while reconciling: %s epoch %d/%d", d.State, d.Epoch, d.AssignmentEpoch)
	}
	// a learns it must give three up: it stays at epoch 1.
	r := cgOK(t, c, cgReq(g, "member-a", 1))
	if r.MemberEpoch != 1 || countParts(r.Assignment) != 3 {
		t.Fatalf("a's heartbeat after b joined: epoch %d, %d partitions; want epoch 1 and 3 kept", r.MemberEpoch, countParts(r.Assignment))
	}
	kept := owned(r.Assignment)
	// b asks again before a revoked: still nothing.
	if r := cgOK(t, c, cgReq(g, "member-b", 2)); r.Assignment != nil && countParts(r.Assignment) != 0 {
		t.Fatalf("b got partitions a has not revoked: %v", r.Assignment)
	}
	// A commit by a at epoch 1 of a partition it is revoking is accepted.
	revoked := revokedPart(aOwned, kept)
	expectCode(t, "commit of a partition pending revocation", commitRaw(t, c, 9, g, "member-a", 1, "recon", revoked, 5, nil), 0)
	// a acknowledges: it no longer owns them.
	hb = cgReq(g, "member-a", 1)
	hb.Topics = kept
	if r := cgOK(t, c, hb); r.MemberEpoch != 2 {
		t.Fatalf("a after revoking: epoch %d, want 2", r.MemberEpoch)
	}
	r = cgOK(t, c, cgReq(g, "member-b", 2))
	if r.MemberEpoch != 2 || countParts(r.Assignment) != 3 {
		t.Fatalf("b after a revoked: epoch %d, %d partitions; want 3", r.MemberEpoch, countParts(r.Assignment))
	}
	hb = cgReq(g, "member-b", 2)
	hb.Topics = owned(r.Assignment)
	cgOK(t, c, hb)
	d := cgDescribe(t, c, g)
	if d.State != "Stable" || len(d.Members) != 2 || len(memberParts(d, "member-a")["recon"]) != 3 || len(memberParts(d, "member-b")["recon"]) != 3 {
		t.Fatalf("describe after the rebalance: %+v", d)
	}
	if m := d.Members[0]; m.MemberType != 1 || !slices.Equal(m.SubscribedTopics, []string{"recon"}) || len(m.TargetAssignment.TopicPartitions) != 1 {
		t.Fatalf("described member: %+v", m)
	}

	// b leaves: its partitions are free at once, a gets them on its next
	// heartbeat.
	leave := cgReq(g, "member-b", -1)
	if r := cgOK(t, c, leave); r.MemberEpoch != -1 || *r.MemberID != "member-b" {
		t.Fatalf("leave: %+v", r)
	}
	if d := cgDescribe(t, c, g); d.State != "Assigning" || d.Epoch != 3 {
		t.Fatalf("after leave: %s epoch %d, want Assigning at 3", d.State, d.Epoch)
	}
	r = cgOK(t, c, cgReq(g, "member-a", 2))
	if r.MemberEpoch != 3 || countParts(r.Assignment) != 6 {
		t.Fatalf("a after b left: epoch %d, %d partitions; want 3 and 6", r.MemberEpoch, countParts(r.Assignment))
	}
	expectCode(t, "heartbeat of the member that left", cgSend(t, c, cgReq(g, "member-b", 2)).ErrorCode, kerr.UnknownMemberID.Code)
}

func revokedPart(before, after []kmsg.ConsumerGroupHeartbeatRequestTopic) int32 {
	keep := map[int32]bool{}
	for _, t := range after {
		for _, p := range t.Partitions {
			keep[p] = true
		}
	}
	for _, t := range before {
		for _, p := range t.Partitions {
			if !keep[p] {
				return p
			}
		}
	}
	return -1
}

// TestConsumerGroupHeartbeatErrors checks the request validation and the
// error codes of the member checks, as Kafka answers them.
func TestConsumerGroupHeartbeatErrors(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "errs", 2)
	c := dialRaw(t, tb.addr())
	const g = "err-group"
	s := func(v string) *string { return &v }

	invalid := map[string]*kmsg.ConsumerGroupHeartbeatRequest{}
	r := cgJoin(g, "", "errs")
	invalid["v1 without member id"] = r
	r = cgJoin("", "m", "errs")
	invalid["empty group"] = r
	r = cgJoin(g, "m", "errs")
	r.InstanceID = s("  ")
	invalid["blank instance id"] = r
	r = cgJoin(g, "m", "errs")
	r.RackID = s("")
	invalid["empty rack"] = r
	r = cgJoin(g, "m", "errs")
	r.RebalanceTimeoutMillis = -1
	invalid["join without rebalance timeout"] = r
	r = cgJoin(g, "m", "errs")
	r.Topics = nil
	invalid["join without owned partitions"] = r
	r = cgJoin(g, "m", "errs")
	r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{Partitions: []int32{0}}}
	invalid["join owning partitions"] = r
	r = cgJoin(g, "m")
	r.SubscribedTopicNames = nil
	invalid["join without subscription"] = r
	invalid["static leave without instance"] = cgReq(g, "m", -2)
	invalid["epoch -3"] = cgReq(g, "m", -3)
	for what, req := range invalid {
		resp := cgSend(t, c, req)
		if resp.ErrorCode != kerr.InvalidRequest.Code || resp.ErrorMessage == nil {
			t.Errorf("%s: %s %v, want INVALID_REQUEST with a message", what, errName(resp.ErrorCode), strOr(resp.ErrorMessage))
		}
	}
	r = cgJoin(g, "m", "errs")
	r.ServerAssignor = s("sticky")
	expectCode(t, "unknown assignor", cgSend(t, c, r).ErrorCode, kerr.UnsupportedAssignor.Code)
	expectCode(t, "heartbeat to an unknown group", cgSend(t, c, cgReq("nobody", "m", 3)).ErrorCode, kerr.GroupIDNotFound.Code)
	expectCode(t, "leave of an unknown group", cgSend(t, c, cgReq("nobody", "m", -1)).ErrorCode, kerr.GroupIDNotFound.Code)
	if groups := listGroups(t, c, 5, nil); slices.Contains(groups, "nobody") || slices.Contains(groups, g) {
		t.Fatalf("failed requests left groups behind: %v", groups)
	}

	// v0 lets the coordinator name a joining member.
	r0 := cgJoin(g, "", "errs")
	r0.Version = 0
	first := cgOK(t, c, r0)
	if first.MemberID == nil || len(*first.MemberID) != 22 || first.MemberEpoch != 1 {
		t.Fatalf("v0 join without member id: %+v", first)
	}
	id := *first.MemberID
	expectCode(t, "unknown member", cgSend(t, c, cgReq(g, "stranger", 1)).ErrorCode, kerr.UnknownMemberID.Code)
	expectCode(t, "leave of an unknown member", cgSend(t, c, cgReq(g, "stranger", -1)).ErrorCode, kerr.UnknownMemberID.Code)
	expectCode(t, "epoch from the future", cgSend(t, c, cgReq(g, id, 7)).ErrorCode, kerr.FencedMemberEpoch.Code)

	// Epochs: the member moves to 2 when a second member subscribes.
	cgOK(t, c, cgJoin(g, "second", "errs"))
	hb := cgReq(g, id, 1)
	hb.Topics = owned(first.Assignment)
	cgOK(t, c, hb) // revokes one
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if r := cgOK(t, c, hb); r.MemberEpoch != 2 {
		t.Fatalf("epoch after revoking: %d", r.MemberEpoch)
	}
	// The previous epoch is accepted when the member owns a subset of its
	// assignment (the answer that moved it was lost), not otherwise.
	hb = cgReq(g, id, 1)
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	cgOK(t, c, hb)
	hb = cgReq(g, id, 1)
	expectCode(t, "previous epoch without owned partitions", cgSend(t, c, hb).ErrorCode, kerr.FencedMemberEpoch.Code)
	hb = cgJoin(g, id, "errs") // epoch 0: a rejoin is always allowed
	if r := cgOK(t, c, hb); r.Assignment == nil {
		t.Fatal("a rejoin with epoch 0 must get its whole assignment")
	}

	// Regular expressions.
	rx := cgJoin(g, "rx", "errs")
	rx.SubscribedTopicRegex = s("(unclosed")
	expectCode(t, "invalid regex", cgSend(t, c, rx).ErrorCode, kerr.InvalidRegularExpression.Code)

	// The classic protocol and a consumer group.
	jr := join(t, tb.addr(), 5, g, "", nil)
	expectCode(t, "classic JoinGroup to a consumer group with members", jr.ErrorCode, kerr.InconsistentGroupProtocol.Code)
	expectCode(t, "classic heartbeat to a consumer group", heartbeat(t, c, g, id, 2, nil), kerr.UnknownMemberID.Code)
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Version = 6
	dg.Groups = []string{g}
	if d := rawSend(t, c, dg).(*kmsg.DescribeGroupsResponse).Groups[0]; d.State != "Dead" || d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("DescribeGroups of a consumer group: %s %s", d.State, errName(d.ErrorCode))
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version = 2
	del.Groups = []string{g}
	expectCode(t, "delete a consumer group with members", rawSend(t, c, del).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, kerr.NonEmptyGroup.Code)

	// A classic group with members is not taken over.
	const classic = "classic-busy"
	cj := join(t, tb.addr(), 3, classic, "", nil)
	waitSync(t, syncAsync(t, tb.addr(), classic, cj.MemberID, cj.Generation, nil, map[string]string{cj.MemberID: "x"}))
	expectCode(t, "join of a classic group with members", cgSend(t, c, cgJoin(classic, "m", "errs")).ErrorCode, kerr.GroupIDNotFound.Code)
	cd := kmsg.NewPtrConsumerGroupDescribeRequest()
	cd.Groups = []string{classic, "", "nobody"}
	ds := rawSend(t, c, cd).(*kmsg.ConsumerGroupDescribeResponse).Groups
	if ds[0].ErrorCode != kerr.GroupIDNotFound.Code || ds[1].ErrorCode != kerr.InvalidGroupID.Code || ds[2].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("ConsumerGroupDescribe of classic, empty and unknown: %s %s %s", errName(ds[0].ErrorCode), errName(ds[1].ErrorCode), errName(ds[2].ErrorCode))
	}

	// ListGroups shows the type and filters by it.
	if got := listGroups(t, c, 5, []string{"consumer"}); !slices.Equal(got, []string{g}) {
		t.Fatalf("consumer groups listed: %v", got)
	}
	if got := listGroups(t, c, 5, []string{"Classic"}); !slices.Equal(got, []string{classic}) {
		t.Fatalf("classic groups listed: %v", got)
	}
}

func listGroups(t testing.TB, c net.Conn, ver int16, types []string) []string {
	t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	req.Version = ver
	req.TypesFilter = types
	var out []string
	for _, lg := range rawSend(t, c, req).(*kmsg.ListGroupsResponse).Groups {
		want := "classic"
		if lg.ProtocolType == "consumer" && lg.GroupType == "consumer" {
			want = "consumer"
		}
		if lg.GroupType != want {
			t.Fatalf("group %s: type %s, protocol type %s", lg.Group, lg.GroupType, lg.ProtocolType)
		}
		out = append(out, lg.Group)
	}
	sort.Strings(out)
	return out
}

// TestConsumerGroupStaticMembers: an instance id held by a live member is
// UNRELEASED_INSTANCE_ID for another; after the holder leaves with epoch -2,
// a new member id takes the instance over with its partitions, and the old
// member id is fenced.
func TestConsumerGroupStaticMembers(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	createTopic(t, newClient(t, tb.addr()), "static", 4)
	c := dialRaw(t, tb.addr())
	const g = "static-group"
	inst := "instance-1"
	join := func(member string) *kmsg.ConsumerGroupHeartbeatRequest {
		r := cgJoin(g, member, "static")
		r.InstanceID = &inst
		return r
	}
	first := cgOK(t, c, join("old"))
	expectCode(t, "instance id in use", cgSend(t, c, join("new")).ErrorCode, kerr.UnreleasedInstanceID.Code)
	leave := cgReq(g, "new", -2)
	leave.InstanceID = &inst
	expectCode(t, "static leave by another member id", cgSend(t, c, leave).ErrorCode, kerr.FencedInstanceID.Code)
	leave.MemberID = "old"
	if r := cgOK(t, c, leave); r.MemberEpoch != -2 {
		t.Fatalf("static leave: epoch %d", r.MemberEpoch)
	}
	if d := cgDescribe(t, c, g); len(d.Members) != 1 || d.Members[0].MemberEpoch != -2 || len(memberParts(d, "old")["static"]) != 4 {
		t.Fatalf("a static member that left keeps its place: %+v", d.Members)
	}
	r := cgOK(t, c, join("new"))
	if countParts(r.Assignment) != 4 || r.MemberEpoch != first.MemberEpoch {
		t.Fatalf("rejoin under the instance id: epoch %d, %d partitions; want epoch %d and all 4", r.MemberEpoch, countParts(r.Assignment), first.MemberEpoch)
	}
	hb := cgReq(g, "old", first.MemberEpoch)
	hb.InstanceID = &inst
	expectCode(t, "the replaced member id", cgSend(t, c, hb).ErrorCode, kerr.FencedInstanceID.Code)
	hb.MemberID = "new"
	cgOK(t, c, hb)
	if d := cgDescribe(t, c, g); len(d.Members) != 1 || d.Members[0].MemberID != "new" || *d.Members[0].InstanceID != inst {
		t.Fatalf("after the takeover: %+v", d.Members)
	}
	unknown := cgReq(g, "x", 1)
	other := "instance-2"
	unknown.InstanceID = &other
	expectCode(t, "unknown instance id", cgSend(t, c, unknown).ErrorCode, kerr.UnknownMemberID.Code)
}

// TestConsumerGroupTimeouts: a member that stops heartbeating is fenced
// after the session timeout; one that does not revoke in its rebalance
// timeout is fenced even though it heartbeats.
func TestConsumerGroupTimeouts(t *testing.T) {
	tb := startTestBroker(t, "", func(c *Config) { c.ConsumerGroupSessionTimeout = 300 * time.Millisecond })
	createTopic(t, newClient(t, tb.addr()), "timeouts", 2)
	c := dialRaw(t, tb.addr())
	const g = "timeout-group"
	start := time.Now()
	cgOK(t, c, cgJoin(g, "quiet", "timeouts"))
	checkFor(t, 10*time.Second, func() string {
		if d := cgDescribe(t, c, g); d.State != "Empty" {
			return fmt.Sprintf("group %s with %d members after the session timeout", d.State, len(d.Members))
		}
		return ""
	})
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("member fenced after %v, before its 300ms session", el)
	}
	expectCode(t, "heartbeat of an expired member", cgSend(t, c, cgReq(g, "quiet", 1)).ErrorCode, kerr.UnknownMemberID.Code)

	// Rebalance timeout: "stubborn" keeps listing both partitions.
	tb2 := startTestBroker(t, "", fastConsumerGroups)
	createTopic(t, newClient(t, tb2.addr()), "timeouts", 2)
	c = dialRaw(t, tb2.addr())
	j := cgJoin(g, "stubborn", "timeouts")
	j.RebalanceTimeoutMillis = 300
	a := cgOK(t, c, j)
	cgOK(t, c, cgJoin(g, "patient", "timeouts"))
	hb := cgReq(g, "stubborn", a.MemberEpoch)
	hb.Topics = owned(a.Assignment)
	if r := cgOK(t, c, hb); countParts(r.Assignment) != 1 {
		t.Fatalf("stubborn should keep 1 of 2: %v", r.Assignment)
	}
	checkFor(t, 10*time.Second, func() string {
		r := cgSend(t, c, hb)
		if r.ErrorCode == kerr.UnknownMemberID.Code {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
		return "a member that does not revoke is still in the group: " + errName(r.ErrorCode)
	})
	checkFor(t, 10*time.Second, func() string {
		r := cgOK(t, c, cgReq(g, "patient", 2))
		if countParts(r.Assignment) == 2 || len(memberParts(cgDescribe(t, c, g), "patient")["timeouts"]) == 2 {
			return ""
		}
		return "patient did not get both partitions"
	})
}

// TestConsumerGroupRegexAndTopicChanges: a regex subscription follows topics
// as they are created, and a new partition count starts a new assignment.
func TestConsumerGroupRegexAndTopicChanges(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "rx-a", 2)
	createTopic(t, cl, "rx-b", 1)
	createTopic(t, cl, "other", 3)
	c := dialRaw(t, tb.addr())
	const g = "regex-group"
	re := "rx-.*"
	j := cgJoin(g, "m")
	j.SubscribedTopicNames = nil
	j.SubscribedTopicRegex = &re
	r := cgOK(t, c, j)
	if countParts(r.Assignment) != 3 || r.MemberEpoch != 1 {
		t.Fatalf("regex join: epoch %d, %d partitions, want 3", r.MemberEpoch, countParts(r.Assignment))
	}
	epoch := r.MemberEpoch
	createTopic(t, cl, "rx-c", 2)
	createTopic(t, cl, "not-rx-d", 2)
	r = cgOK(t, c, cgReq(g, "m", epoch))
	if countParts(r.Assignment) != 5 || r.MemberEpoch != epoch+1 {
		t.Fatalf("after rx-c was created: epoch %d, %d partitions; want %d and 5", r.MemberEpoch, countParts(r.Assignment), epoch+1)
	}
	d := cgDescribe(t, c, g)
	if m := d.Members[0]; m.SubscribedTopicRegex == nil || *m.SubscribedTopicRegex != re || len(memberParts(d, "m")) != 3 {
		t.Fatalf("describe: %+v", d.Members)
	}
	// Switching to names drops the regex topics at once.
	hb := cgReq(g, "m", r.MemberEpoch)
	hb.SubscribedTopicNames = []string{"other"}
	empty := ""
	hb.SubscribedTopicRegex = &empty
	hb.Topics = owned(r.Assignment)
	r = cgOK(t, c, hb)
	if countParts(r.Assignment) != 0 {
		t.Fatalf("after switching to other: %v", r.Assignment)
	}
	hb = cgReq(g, "m", r.MemberEpoch)
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	r = cgOK(t, c, hb)
	if countParts(r.Assignment) != 3 {
		t.Fatalf("after revoking the regex topics: %d partitions of other, want 3", countParts(r.Assignment))
	}
}

// TestConsumerGroupOffsets: OffsetCommit and OffsetFetch check the member
// and its epoch for consumer groups; OffsetDelete keeps subscribed topics.
func TestConsumerGroupOffsets(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "offs", 2)
	createTopic(t, cl, "old-topic", 1)
	c := dialRaw(t, tb.addr())
	const g = "offsets-group"
	expectCode(t, "admin commit while the group does not exist", commitRaw(t, c, 9, g, "", -1, "old-topic", 0, 3, nil), 0)
	a := cgOK(t, c, cgJoin(g, "m", "offs"))
	e := a.MemberEpoch
	expectCode(t, "commit at the member epoch", commitRaw(t, c, 9, g, "m", e, "offs", 1, 42, nil), 0)
	expectCode(t, "commit with a v8 request", commitRaw(t, c, 8, g, "m", e, "offs", 1, 42, nil), kerr.UnsupportedVersion.Code)
	expectCode(t, "commit from a newer epoch", commitRaw(t, c, 9, g, "m", e+1, "offs", 1, 42, nil), kerr.StaleMemberEpoch.Code)
	expectCode(t, "commit from an older epoch than the partition's", commitRaw(t, c, 9, g, "m", e-1, "offs", 1, 42, nil), kerr.StaleMemberEpoch.Code)
	expectCode(t, "commit by a stranger", commitRaw(t, c, 9, g, "x", e, "offs", 1, 42, nil), kerr.UnknownMemberID.Code)
	expectCode(t, "admin commit while members are in", commitRaw(t, c, 9, g, "", -1, "offs", 1, 42, nil), kerr.UnknownMemberID.Code)

	fetch := func(member *string, epoch int32) *kmsg.OffsetFetchResponseGroup {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 9
		req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: g, MemberID: member, MemberEpoch: epoch,
			Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "offs", Partitions: []int32{1}}}}}
		return &rawSend(t, c, req).(*kmsg.OffsetFetchResponse).Groups[0]
	}
	m := "m"
	if fg := fetch(&m, e); fg.ErrorCode != 0 || fg.Topics[0].Partitions[0].Offset != 42 {
		t.Fatalf("fetch by the member: %s %+v", errName(fg.ErrorCode), fg.Topics)
	}
	if fg := fetch(nil, -1); fg.ErrorCode != 0 || fg.Topics[0].Partitions[0].Offset != 42 {
		t.Fatalf("fetch by an admin: %s", errName(fg.ErrorCode))
	}
	expectCode(t, "fetch at a stale epoch", fetch(&m, e+1).ErrorCode, kerr.StaleMemberEpoch.Code)
	x := "x"
	expectCode(t, "fetch by a stranger", fetch(&x, e).ErrorCode, kerr.UnknownMemberID.Code)

	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = g
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "offs", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}},
		{Topic: "old-topic", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	odr := rawSend(t, c, od).(*kmsg.OffsetDeleteResponse)
	if odr.ErrorCode != 0 || odr.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code || odr.Topics[1].Partitions[0].ErrorCode != 0 {
		t.Fatalf("OffsetDelete: %+v", odr)
	}

	// Once the member left, the group is Empty and can be deleted.
	cgOK(t, c, cgReq(g, "m", -1))
	expectCode(t, "admin commit of an empty consumer group", commitRaw(t, c, 9, g, "", -1, "offs", 0, 7, nil), 0)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version = 2
	del.Groups = []string{g}
	expectCode(t, "delete the empty group", rawSend(t, c, del).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, 0)
	if fg := fetch(nil, -1); fg.ErrorCode != 0 || fg.Topics[0].Partitions[0].Offset != -1 {
		t.Fatalf("offsets of the deleted group: %+v", fg.Topics)
	}
}

// TestConsumerGroupRestart: a consumer group comes back after a restart
// with its epochs, members and assignments; the member carries on at its
// epoch and its committed offsets are there.
func TestConsumerGroupRestart(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "rs", 4)
	c := dialRaw(t, tb.addr())
	const g = "restart-group"
	a := cgOK(t, c, cgJoin(g, "a", "rs"))
	b := cgOK(t, c, cgJoin(g, "b", "rs"))
	hb := cgReq(g, "a", a.MemberEpoch)
	hb.Topics = owned(a.Assignment)
	r := cgOK(t, c, hb)
	hb.Topics = owned(r.Assignment)
	cgOK(t, c, hb)
	r = cgOK(t, c, cgReq(g, "b", b.MemberEpoch))
	hb = cgReq(g, "b", r.MemberEpoch)
	hb.Topics = owned(r.Assignment)
	cgOK(t, c, hb)
	expectCode(t, "commit", commitRaw(t, c, 9, g, "b", r.MemberEpoch, "rs", r.Assignment.Topics[0].Partitions[0], 11, nil), 0)
	before := cgDescribe(t, c, g)
	if before.State != "Stable" {
		t.Fatalf("before the restart: %s", before.State)
	}
	dir := tb.dir
	cl.Close()
	tb.Close()

	tb2 := startTestBroker(t, dir, fastConsumerGroups)
	c = dialRaw(t, tb2.addr())
	after := cgDescribe(t, c, g)
	if after.State != "Stable" || after.Epoch != before.Epoch || after.AssignmentEpoch != before.AssignmentEpoch || len(after.Members) != 2 {
		t.Fatalf("after the restart: %s epoch %d/%d, %d members; before %s %d/%d", after.State, after.Epoch, after.AssignmentEpoch,
			len(after.Members), before.State, before.Epoch, before.AssignmentEpoch)
	}
	for _, id := range []string{"a", "b"} {
		if !slices.Equal(memberParts(after, id)["rs"], memberParts(before, id)["rs"]) {
			t.Fatalf("member %s owns %v after the restart, %v before", id, memberParts(after, id), memberParts(before, id))
		}
	}
	hb = cgReq(g, "b", r.MemberEpoch)
	if got := cgOK(t, c, hb); got.MemberEpoch != r.MemberEpoch || got.Assignment != nil {
		t.Fatalf("heartbeat after the restart: epoch %d, assignment %v", got.MemberEpoch, got.Assignment)
	}
	p := fetchRaw(t, c, 7, g, "rs", r.Assignment.Topics[0].Partitions[0]).Topics[0].Partitions[0]
	if p.Offset != 11 {
		t.Fatalf("committed offset after the restart: %d", p.Offset)
	}
}

// TestConsumerGroupOffsetsRetention: a consumer group's offsets of topics
// its members subscribe to never expire; others expire the retention after
// their commit; the group goes once it has no members and no offsets.
func TestConsumerGroupOffsetsRetention(t *testing.T) {
	tb := startTestBroker(t, "", fastConsumerGroups, slowExpiry)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "kept", 1)
	createTopic(t, cl, "dropped", 1)
	c := dialRaw(t, tb.addr())
	const g = "retention-group"
	a := cgOK(t, c, cgJoin(g, "m", "kept", "dropped"))
	expectCode(t, "commit kept", commitRaw(t, c, 9, g, "m", a.MemberEpoch, "kept", 0, 4, nil), 0)
	expectCode(t, "commit dropped", commitRaw(t, c, 9, g, "m", a.MemberEpoch, "dropped", 0, 6, nil), 0)
	hb := cgReq(g, "m", a.MemberEpoch)
	hb.SubscribedTopicNames = []string{"kept"}
	cgOK(t, c, hb)

	later := time.Now().Add(2 * time.Hour)
	tb.groups.expireOffsets(later)
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, g); !slices.Equal(got, []string{"kept-0"}) {
			return fmt.Sprintf("offsets after the retention: %v, want only the subscribed kept-0", got)
		}
		return ""
	})
	cgOK(t, c, cgReq(g, "m", -1))
	tb.groups.expireOffsets(later)
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, g); len(got) != 0 {
			return fmt.Sprintf("offsets of the empty group after the retention: %v", got)
		}
		if len(tb.groups.store.ConsumerGroups()) != 0 {
			return "consumer group still stored"
		}
		return ""
	})
	if d := cgDescribe(t, c, g); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("expired group: %s", errName(d.ErrorCode))
	}
}
