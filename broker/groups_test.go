package broker

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Unit tests of the group coordinator's state machine, over raw connections
// so each request goes at the version chosen and blocking requests
// (JoinGroup, SyncGroup) can wait in their own goroutine.

func fastGroups(c *Config) {
	c.GroupInitialRebalanceDelay = 50 * time.Millisecond
	c.GroupMinSessionTimeout = 100 * time.Millisecond
}

// rawRequest is rawSend without testing.TB, for goroutines.
func rawRequest(c net.Conn, req kmsg.Request) (kmsg.Response, error) {
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, 1)
	if _, err := c.Write(frame); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	skip := 4
	if resp.IsFlexible() {
		skip = 5
	}
	return resp, resp.ReadFrom(body[skip:])
}

type joinResult struct {
	resp *kmsg.JoinGroupResponse
	err  error
}

// joinAsync sends a JoinGroup on its own connection and returns the channel
// its answer arrives on.
func joinAsync(t testing.TB, addr string, ver int16, group, memberID string, instance *string, protocols ...string) <-chan joinResult {
	t.Helper()
	c := dialRaw(t, addr)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = ver
	req.Group, req.MemberID, req.InstanceID = group, memberID, instance
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 3000
	req.ProtocolType = "consumer"
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte("meta-" + p)})
	}
	out := make(chan joinResult, 1)
	go func() {
		resp, err := rawRequest(c, req)
		r, _ := resp.(*kmsg.JoinGroupResponse)
		out <- joinResult{r, err}
	}()
	return out
}

func join(t testing.TB, addr string, ver int16, group, memberID string, instance *string, protocols ...string) *kmsg.JoinGroupResponse {
	t.Helper()
	return waitJoin(t, joinAsync(t, addr, ver, group, memberID, instance, protocols...))
}

func waitJoin(t testing.TB, ch <-chan joinResult) *kmsg.JoinGroupResponse {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("join: %v", r.err)
		}
		return r.resp
	case <-time.After(10 * time.Second):
		t.Fatal("join did not complete")
	}
	return nil
}

// joinDynamic joins with KIP-394's two steps.
func joinDynamic(t testing.TB, addr, group string) <-chan joinResult {
	t.Helper()
	r := join(t, addr, 9, group, "", nil)
	if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		t.Fatalf("first join: %s, member %q; want MEMBER_ID_REQUIRED", errName(r.ErrorCode), r.MemberID)
	}
	return joinAsync(t, addr, 9, group, r.MemberID, nil)
}

type syncResult struct {
	resp *kmsg.SyncGroupResponse
	err  error
}

func syncAsync(t testing.TB, addr, group, memberID string, gen int32, instance *string, assign map[string]string) <-chan syncResult {
	t.Helper()
	c := dialRaw(t, addr)
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, memberID, gen, instance
	for m, a := range assign {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(a)})
	}
	out := make(chan syncResult, 1)
	go func() {
		resp, err := rawRequest(c, req)
		r, _ := resp.(*kmsg.SyncGroupResponse)
		out <- syncResult{r, err}
	}()
	return out
}

func waitSync(t testing.TB, ch <-chan syncResult) *kmsg.SyncGroupResponse {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("sync: %v", r.err)
		}
		return r.resp
	case <-time.After(10 * time.Second):
		t.Fatal("sync did not complete")
	}
	return nil
}

func heartbeat(t testing.TB, c net.Conn, group, memberID string, gen int32, instance *string) int16 {
	t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, memberID, gen, instance
	return rawSend(t, c, req).(*kmsg.HeartbeatResponse).ErrorCode
}

func commitRaw(t testing.TB, c net.Conn, ver int16, group, memberID string, gen int32, topic string, part int32, off int64, meta *string) int16 {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = ver
	req.Group, req.MemberID, req.Generation = group, memberID, gen
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{
		{Partition: part, Offset: off, LeaderEpoch: -1, Metadata: meta}}}}
	return rawSend(t, c, req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
}

func describeGroup(t testing.TB, c net.Conn, group string) kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 5
	req.Groups = []string{group}
	return rawSend(t, c, req).(*kmsg.DescribeGroupsResponse).Groups[0]
}

func expectCode(t testing.TB, what string, got, want int16) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %s, want %s", what, errName(got), errName(want))
	}
}

// checkFor polls fn until it returns "" or timeout passes.
func checkFor(t testing.TB, timeout time.Duration, fn func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := fn()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGroupRebalanceLifecycle walks a group through its states with the
// error codes Kafka gives at each step.
func TestGroupRebalanceLifecycle(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "life", 2)
	c := dialRaw(t, tb.addr())
	const g = "life-group"

	// An unknown member id for an unknown group.
	expectCode(t, "join unknown group with member id", join(t, tb.addr(), 9, g, "ghost", nil).ErrorCode, kerr.UnknownMemberID.Code)
	expectCode(t, "join empty group id", join(t, tb.addr(), 9, "", "", nil).ErrorCode, kerr.InvalidGroupID.Code)

	// First member: KIP-394 two-step join, then it leads generation 1.
	a := waitJoin(t, joinDynamic(t, tb.addr(), g))
	expectCode(t, "join a", a.ErrorCode, 0)
	if a.Generation != 1 || a.LeaderID != a.MemberID || len(a.Members) != 1 || *a.Protocol != "range" {
		t.Fatalf("first join: gen %d leader %q members %d protocol %v", a.Generation, a.LeaderID, len(a.Members), a.Protocol)
	}
	expectCode(t, "commit while completing", commitRaw(t, c, 9, g, a.MemberID, 1, "life", 0, 1, nil), kerr.RebalanceInProgress.Code)
	expectCode(t, "sync wrong generation", waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, 7, nil, nil)).ErrorCode, kerr.IllegalGeneration.Code)
	expectCode(t, "sync unknown member", waitSync(t, syncAsync(t, tb.addr(), g, "nobody", 1, nil, nil)).ErrorCode, kerr.UnknownMemberID.Code)
	s := waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, 1, nil, map[string]string{a.MemberID: "p0,p1"}))
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "p0,p1" {
		t.Fatalf("sync a: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
	if d := describeGroup(t, c, g); d.State != "Stable" || len(d.Members) != 1 || string(d.Members[0].MemberAssignment) != "p0,p1" {
		t.Fatalf("describe after sync: %+v", d)
	}
	expectCode(t, "heartbeat", heartbeat(t, c, g, a.MemberID, 1, nil), 0)
	expectCode(t, "heartbeat old generation", heartbeat(t, c, g, a.MemberID, 0, nil), kerr.IllegalGeneration.Code)
	expectCode(t, "heartbeat unknown member", heartbeat(t, c, g, "nobody", 1, nil), kerr.UnknownMemberID.Code)
	expectCode(t, "commit", commitRaw(t, c, 9, g, a.MemberID, 1, "life", 0, 5, nil), 0)
	expectCode(t, "commit old generation", commitRaw(t, c, 9, g, a.MemberID, 0, "life", 0, 6, nil), kerr.IllegalGeneration.Code)
	expectCode(t, "commit unknown member", commitRaw(t, c, 9, g, "nobody", 1, "life", 0, 6, nil), kerr.UnknownMemberID.Code)
	expectCode(t, "admin commit to a live group", commitRaw(t, c, 9, g, "", -1, "life", 0, 6, nil), kerr.UnknownMemberID.Code)

	// A second member (v3: no MEMBER_ID_REQUIRED) starts a rebalance; the
	// first learns of it by heartbeat and rejoins; the leader gets both.
	bCh := joinAsync(t, tb.addr(), 3, g, "", nil)
	checkFor(t, 5*time.Second, func() string {
		if code := heartbeat(t, c, g, a.MemberID, 1, nil); code != kerr.RebalanceInProgress.Code {
			return "heartbeat during rebalance: " + errName(code)
		}
		return ""
	})
	expectCode(t, "commit while preparing", commitRaw(t, c, 9, g, a.MemberID, 1, "life", 0, 7, nil), 0)
	a2 := waitJoin(t, joinAsync(t, tb.addr(), 9, g, a.MemberID, nil))
	b := waitJoin(t, bCh)
	if a2.Generation != 2 || b.Generation != 2 || a2.LeaderID != a.MemberID || len(a2.Members) != 2 || len(b.Members) != 0 {
		t.Fatalf("rebalance: a gen %d leader %q members %d; b gen %d members %d", a2.Generation, a2.LeaderID, len(a2.Members), b.Generation, len(b.Members))
	}
	// The follower's sync waits for the leader's.
	bSync := syncAsync(t, tb.addr(), g, b.MemberID, 2, nil, nil)
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-bSync:
		t.Fatalf("follower sync answered before the leader's: %+v", r.resp)
	default:
	}
	s = waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, 2, nil, map[string]string{a.MemberID: "p0", b.MemberID: "p1"}))
	if sb := waitSync(t, bSync); s.ErrorCode != 0 || sb.ErrorCode != 0 || string(sb.MemberAssignment) != "p1" || *sb.Protocol != "range" {
		t.Fatalf("syncs: %s / %s %q", errName(s.ErrorCode), errName(sb.ErrorCode), sb.MemberAssignment)
	}

	// Batched leave (v3+): one unknown, one known member.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = g
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "nobody"}, {MemberID: b.MemberID}}
	lr := rawSend(t, c, leave).(*kmsg.LeaveGroupResponse)
	if lr.ErrorCode != 0 || lr.Members[0].ErrorCode != kerr.UnknownMemberID.Code || lr.Members[1].ErrorCode != 0 {
		t.Fatalf("leave: %+v", lr)
	}
	expectCode(t, "heartbeat after a leave", heartbeat(t, c, g, a.MemberID, 2, nil), kerr.RebalanceInProgress.Code)
	a3 := waitJoin(t, joinAsync(t, tb.addr(), 9, g, a.MemberID, nil))
	if a3.Generation != 3 || len(a3.Members) != 1 {
		t.Fatalf("after leave: gen %d members %d", a3.Generation, len(a3.Members))
	}

	// v0 leave of the last member empties the group.
	leave = kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 0
	leave.Group, leave.MemberID = g, a.MemberID
	expectCode(t, "leave v0", rawSend(t, c, leave).(*kmsg.LeaveGroupResponse).ErrorCode, 0)
	checkFor(t, 5*time.Second, func() string {
		if d := describeGroup(t, c, g); d.State != "Empty" {
			return "state after last leave: " + d.State
		}
		return ""
	})
	expectCode(t, "heartbeat in empty group", heartbeat(t, c, g, a.MemberID, 3, nil), kerr.UnknownMemberID.Code)
	expectCode(t, "admin commit to empty group", commitRaw(t, c, 9, g, "", -1, "life", 1, 9, nil), 0)
}

// TestGroupStaticMembership checks KIP-345: static members skip
// MEMBER_ID_REQUIRED, a rejoin with the same instance id fences the old
// member id without a rebalance of a stable group, and leave by instance id.
func TestGroupStaticMembership(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	c := dialRaw(t, tb.addr())
	const g = "static-group"
	inst := strp("instance-1")
	// The commit below needs its topic: an unknown one is answered before
	// the group is looked at, as in Kafka.
	createTopic(t, newClient(t, tb.addr()), "t", 1)
	a := join(t, tb.addr(), 9, g, "", inst)
	expectCode(t, "static join", a.ErrorCode, 0)
	waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, a.Generation, inst, map[string]string{a.MemberID: "all"}))

	// The same instance comes back (a restarted process): new member id,
	// same generation, its assignment kept.
	a2 := join(t, tb.addr(), 9, g, "", inst)
	if a2.ErrorCode != 0 || a2.MemberID == a.MemberID || a2.Generation != a.Generation || !a2.SkipAssignment {
		t.Fatalf("static rejoin: %s member %q gen %d skip %v", errName(a2.ErrorCode), a2.MemberID, a2.Generation, a2.SkipAssignment)
	}
	s := waitSync(t, syncAsync(t, tb.addr(), g, a2.MemberID, a2.Generation, inst, nil))
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "all" {
		t.Fatalf("sync of replaced static member: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
	expectCode(t, "old member id heartbeat", heartbeat(t, c, g, a.MemberID, a.Generation, inst), kerr.FencedInstanceID.Code)
	expectCode(t, "old member id commit", commitRaw(t, c, 9, g, a.MemberID, a.Generation, "t", 0, 1, nil), kerr.UnknownMemberID.Code)
	expectCode(t, "unknown instance", heartbeat(t, c, g, a2.MemberID, a.Generation, strp("other")), kerr.UnknownMemberID.Code)
	expectCode(t, "current member heartbeat", heartbeat(t, c, g, a2.MemberID, a2.Generation, inst), 0)
	if d := describeGroup(t, c, g); d.State != "Stable" || len(d.Members) != 1 || d.Members[0].InstanceID == nil || *d.Members[0].InstanceID != *inst {
		t.Fatalf("describe: %+v", d)
	}

	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 4
	leave.Group = g
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: a.MemberID, InstanceID: inst}, {InstanceID: inst}}
	lr := rawSend(t, c, leave).(*kmsg.LeaveGroupResponse)
	if lr.Members[0].ErrorCode != kerr.FencedInstanceID.Code || lr.Members[1].ErrorCode != 0 {
		t.Fatalf("leave by instance: %+v", lr.Members)
	}
}

// TestGroupSessionTimeout checks that a member that stops heartbeating is
// expelled and the group goes back to Empty with a new generation.
func TestGroupSessionTimeout(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	c := dialRaw(t, tb.addr())
	const g = "expiring"
	jc := dialRaw(t, tb.addr())
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 2
	req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = g, 300, 1000, "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	req.SessionTimeoutMillis = 50
	expectCode(t, "too short session", rawSend(t, jc, req).(*kmsg.JoinGroupResponse).ErrorCode, kerr.InvalidSessionTimeout.Code)
	req.SessionTimeoutMillis = 300
	r := rawSend(t, jc, req).(*kmsg.JoinGroupResponse)
	expectCode(t, "join", r.ErrorCode, 0)
	waitSync(t, syncAsync(t, tb.addr(), g, r.MemberID, r.Generation, nil, map[string]string{r.MemberID: "x"}))
	start := time.Now()
	checkFor(t, 5*time.Second, func() string {
		if d := describeGroup(t, c, g); d.State != "Empty" {
			return "state after the session timeout: " + d.State
		}
		return ""
	})
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("member expired after %v, before its 300ms session", el)
	}
	expectCode(t, "heartbeat of expired member", heartbeat(t, c, g, r.MemberID, r.Generation, nil), kerr.UnknownMemberID.Code)
}

// TestGroupProtocolSelection checks Kafka's vote and the rejection of a
// member with no protocol in common.
func TestGroupProtocolSelection(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	const g = "votes"
	ch1 := joinAsync(t, tb.addr(), 3, g, "", nil, "range", "roundrobin")
	ch2 := joinAsync(t, tb.addr(), 3, g, "", nil, "roundrobin", "range")
	ch3 := joinAsync(t, tb.addr(), 3, g, "", nil, "sticky", "roundrobin", "range")
	for _, ch := range []<-chan joinResult{ch1, ch2, ch3} {
		r := waitJoin(t, ch)
		if r.ErrorCode != 0 || *r.Protocol != "roundrobin" {
			t.Fatalf("join: %s protocol %v, want roundrobin", errName(r.ErrorCode), r.Protocol)
		}
		if r.LeaderID == r.MemberID {
			for _, m := range r.Members {
				if string(m.ProtocolMetadata) != "meta-roundrobin" {
					t.Fatalf("leader got metadata %q", m.ProtocolMetadata)
				}
			}
		}
	}
	expectCode(t, "no common protocol", join(t, tb.addr(), 3, g, "", nil, "other").ErrorCode, kerr.InconsistentGroupProtocol.Code)
}

// TestGroupFindCoordinator covers v0-v6, batched keys and key types.
func TestGroupFindCoordinator(t *testing.T) {
	tb := startTestBroker(t, "")
	c := dialRaw(t, tb.addr())
	for v := int16(0); v <= 6; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey = "g"
		req.CoordinatorKeys = []string{"g1", "txn"}
		resp := rawSend(t, c, req).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != tb.cfg.NodeID || resp.Port == 0 {
				t.Fatalf("v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 || resp.Coordinators[1].Key != "txn" || resp.Coordinators[0].NodeID != tb.cfg.NodeID {
			t.Fatalf("v%d: %+v", v, resp.Coordinators)
		}
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version = 6
	req.CoordinatorType = 2
	req.CoordinatorKeys = []string{"share"}
	if code := rawSend(t, c, req).(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode; code != kerr.InvalidRequest.Code {
		t.Fatalf("share key type: %s", errName(code))
	}
	req.CoordinatorType = 1
	if code := rawSend(t, c, req).(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode; code != 0 {
		t.Fatalf("transaction key type: %s", errName(code))
	}
}

// TestGroupRestartKeepsGeneration restarts the broker under a stable group:
// the group comes back Stable with its generation, members and assignment,
// so a member that heartbeats in time goes on without a rebalance, and its
// committed offsets are there.
func TestGroupRestartKeepsGeneration(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "rs", 1)
	const g = "restarting"
	a := join(t, tb.addr(), 3, g, "", nil)
	waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, a.Generation, nil, map[string]string{a.MemberID: "rs-0"}))
	c := dialRaw(t, tb.addr())
	meta := "resume-here"
	expectCode(t, "commit", commitRaw(t, c, 9, g, a.MemberID, a.Generation, "rs", 0, 17, &meta), 0)
	dir := tb.dir
	cl.Close()
	tb.Close()

	tb2 := startTestBroker(t, dir, fastGroups)
	c = dialRaw(t, tb2.addr())
	expectCode(t, "heartbeat after restart", heartbeat(t, c, g, a.MemberID, a.Generation, nil), 0)
	d := describeGroup(t, c, g)
	if d.State != "Stable" || len(d.Members) != 1 || string(d.Members[0].MemberAssignment) != "rs-0" || d.Protocol != "range" {
		t.Fatalf("describe after restart: %+v", d)
	}
	p := fetchRaw(t, c, 9, g, "rs", 0).Groups[0].Topics[0].Partitions[0]
	if p.Offset != 17 || p.Metadata == nil || *p.Metadata != meta {
		t.Fatalf("offset after restart: %+v", p)
	}
	s := waitSync(t, syncAsync(t, tb2.addr(), g, a.MemberID, a.Generation, nil, nil))
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "rs-0" {
		t.Fatalf("sync after restart: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
}
