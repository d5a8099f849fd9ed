package main

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kip848Member is a member of a consumer-protocol (KIP-848) group driven by
// raw ConsumerGroupHeartbeat requests, as kgo does not speak KIP-848. It
// heartbeats only when the test says so, so the test decides when it gives
// up partitions (the server runs with a long session timeout).
type kip848Member struct {
	t         *testing.T
	cl        *kgo.Client
	group, id string
	epoch     int32
	names     map[[16]byte]string
	// assigned is the last assignment the coordinator sent, by topic id.
	assigned []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic
}

// joinKIP848 joins group subscribed to topic; assignor "" leaves the
// choice to the broker. It returns after the join's answer.
func joinKIP848(t *testing.T, addr, group, id, clientID, instanceID, assignor, topic string) *kip848Member {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err == nil {
		err = topics.Error()
	}
	if err != nil {
		t.Fatalf("topic %s: %v", topic, err)
	}
	m := &kip848Member{t: t, cl: cl, group: group, id: id, names: map[[16]byte]string{topics[topic].ID: topic}}
	req := m.request(0)
	req.RebalanceTimeoutMillis = 300000
	req.SubscribedTopicNames = []string{topic}
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if instanceID != "" {
		req.InstanceID = kmsg.StringPtr(instanceID)
	}
	if assignor != "" {
		req.ServerAssignor = kmsg.StringPtr(assignor)
	}
	m.send(req)
	return m
}

func (m *kip848Member) request(epoch int32) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = m.group, m.id, epoch
	return req
}

func (m *kip848Member) send(req *kmsg.ConsumerGroupHeartbeatRequest) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kresp, err := req.RequestWith(ctx, m.cl)
	if err == nil {
		err = kerr.ErrorForCode(kresp.ErrorCode)
	}
	if err != nil {
		m.t.Fatalf("heartbeat of %s at epoch %d: %v", m.id, req.MemberEpoch, err)
	}
	if req.MemberEpoch >= 0 {
		m.epoch = kresp.MemberEpoch
		if kresp.Assignment != nil {
			m.assigned = kresp.Assignment.Topics
		}
	}
}

// heartbeat sends a heartbeat; with ack it reports the last assignment
// received as owned (giving up what it lost), else nothing (unchanged: a
// member slow to revoke).
func (m *kip848Member) heartbeat(ack bool) {
	m.t.Helper()
	req := m.request(m.epoch)
	if ack {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, a := range m.assigned {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: a.TopicID, Partitions: a.Partitions})
		}
	}
	m.send(req)
}

func (m *kip848Member) leave() {
	m.t.Helper()
	m.send(m.request(-1))
}

// assignment is the last assignment received, as describe shows it.
func (m *kip848Member) assignment() string {
	var tps []topicPartition
	for _, a := range m.assigned {
		for _, p := range a.Partitions {
			tps = append(tps, topicPartition{m.names[a.TopicID], p})
		}
	}
	sortTopicPartitions(tps)
	return assignmentString(tps)
}

func (m *kip848Member) partitions() []int32 {
	var ps []int32
	for _, a := range m.assigned {
		ps = append(ps, a.Partitions...)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// commit commits offsets of topic (partition → offset) as the member,
// with OffsetCommit v9 and its member epoch.
func (m *kip848Member) commit(topic string, offsets map[int32]int64) {
	m.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = m.group, m.epoch, m.id
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic // v9 and older
	for id, name := range m.names {
		if name == topic {
			rt.TopicID = id // v10
		}
	}
	for p, o := range offsets {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, o, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				m.t.Fatalf("commit of %s-%d by %s at epoch %d: %v", t.Topic, p.Partition, m.id, m.epoch, err)
			}
		}
	}
}

// wantMatch fails unless out matches the pattern (multi-line mode).
func wantMatch(t *testing.T, what, out, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)` + pattern).MatchString(out) {
		t.Fatalf("%s does not match %s:\n%s", what, pattern, out)
	}
}

// memberPattern is a members-table row of describe: the fields given,
// separated by the table's spaces.
func memberPattern(fields ...string) string {
	for i, f := range fields {
		fields[i] = regexp.QuoteMeta(f)
	}
	return "^" + strings.Join(fields, " +") + "$"
}

// TestCLIGroupConsumerProtocol: every group command with a KIP-848
// consumer group next to a classic one: list's TYPE and STATE, describe's
// assignor, epochs, members and target assignment while a member is slow to
// revoke, the partition table mapping partitions to the members that own
// them, refusals while the group has members (and a classic consumer that
// cannot join it), and reset-offsets and delete once the members left.
func TestCLIGroupConsumerProtocol(t *testing.T) {
	addr := freePort(t)
	startServer(t, addr, t.TempDir(), "--group-consumer-session-timeout", "10m")
	b := "--brokers=" + addr

	mustSkiff(t, "", "topic", "create", "orders", "--partitions", "3", b)
	var rs []*kgo.Record
	for i := range 5 {
		rs = append(rs, rec("orders", 0, "p0-"+strconv.Itoa(i)))
	}
	rs = append(rs, rec("orders", 1, "p1-0"), rec("orders", 1, "p1-1"))
	produceRecords(t, addr, rs...)
	mustSkiff(t, "", "consume", "orders", "--group", "old", "-B", "-d", b) // a classic group

	// Member a joins alone, asks for the range assignor and gets every
	// partition at epoch 1.
	a := joinKIP848(t, addr, "cg", "member-a", "client-a", "", "range", "orders")
	if a.epoch != 1 || a.assignment() != "orders:0,1,2" {
		t.Fatalf("a joined at epoch %d with %s; want epoch 1 with orders:0,1,2", a.epoch, a.assignment())
	}
	a.heartbeat(true)
	a.commit("orders", map[int32]int64{0: 3, 1: 2})

	out := mustSkiff(t, "", "group", "list", b)
	wantMatch(t, "list", out, `^GROUP +TYPE +STATE +MEMBERS +PROTOCOL$`)
	wantMatch(t, "list", out, `^cg +consumer +Stable +1 +range$`)
	wantMatch(t, "list", out, `^old +classic +Empty +0 +-$`)

	out = mustSkiff(t, "", "group", "describe", "cg", b)
	for _, want := range []string{"Group:     cg\n", "Type:      consumer\n", "State:     Stable\n", "Assignor:  range\n",
		"Epochs:    group 1, target assignment 1\n", "Members:   1\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TARGET-ASSIGNMENT") {
		t.Fatalf("describe shows a target assignment equal to the current one:\n%s", out)
	}
	wantMatch(t, "describe", out, memberPattern("CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "CURRENT-EPOCH", "CURRENT-ASSIGNMENT"))
	wantMatch(t, "describe", out, memberPattern("member-a", "/127.0.0.1", "client-a", "3", "1", "orders:0,1,2"))
	wantRows(t, out,
		"orders 0 3 5 2 member-a /127.0.0.1 client-a",
		"orders 1 2 2 0 member-a /127.0.0.1 client-a",
		"orders 2 - 0 - member-a /127.0.0.1 client-a")

	// Static member b joins: the target assignment moves partitions from
	// a to b, but a does not give them up yet (it heartbeats without
	// acknowledging), so b holds nothing and a still owns all three.
	bm := joinKIP848(t, addr, "cg", "member-b", "client-b", "b-static", "", "orders")
	a.heartbeat(false)
	aTarget := a.assignment()
	if aTarget == "orders:0,1,2" || aTarget == missing || a.epoch != 1 {
		t.Fatalf("a was not asked to revoke: epoch %d, %s", a.epoch, aTarget)
	}
	bTarget := map[string]string{"orders:0": "orders:1,2", "orders:0,1": "orders:2", "orders:1,2": "orders:0", "orders:2": "orders:0,1"}[aTarget]
	out = mustSkiff(t, "", "group", "describe", "cg", b)
	for _, want := range []string{"State:     Reconciling\n", "Epochs:    group 2, target assignment 2\n", "Members:   2\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe while a revokes lacks %q:\n%s", want, out)
		}
	}
	wantMatch(t, "describe", out, memberPattern("CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-ASSIGNMENT"))
	wantMatch(t, "describe", out, memberPattern("member-a", "-", "/127.0.0.1", "client-a", "3", "1", "orders:0,1,2", aTarget))
	wantMatch(t, "describe", out, memberPattern("member-b", "b-static", "/127.0.0.1", "client-b", "0", "2", "-", bTarget))
	wantRows(t, out,
		"orders 0 3 5 2 member-a /127.0.0.1 client-a",
		"orders 1 2 2 0 member-a /127.0.0.1 client-a",
		"orders 2 - 0 - member-a /127.0.0.1 client-a")
	wantMatch(t, "list", mustSkiff(t, "", "group", "list", b), `^cg +consumer +Reconciling +2 +range$`)

	// A group with members is not empty: no reset, no delete, and a
	// classic consumer cannot join it.
	errOut := skiffFails(t, "group", "reset-offsets", "cg", "--topic", "orders", "--to-earliest", b)
	if !strings.Contains(errOut, "group cg is Reconciling with 2 members: offsets can only be reset while it has none; stop its consumers first") {
		t.Fatalf("reset with members: %q", errOut)
	}
	errOut = skiffFails(t, "group", "delete", "cg", b)
	if !strings.Contains(errOut, "group cg is Reconciling with 2 members: it can only be deleted while it has none; stop its consumers first") ||
		!strings.Contains(errOut, "NON_EMPTY_GROUP") {
		t.Fatalf("delete with members: %q", errOut)
	}
	errOut = skiffFails(t, "consume", "orders", "--group", "cg", "-d", b)
	if !strings.Contains(errOut, "group cg is used by consumers of another protocol or assignor") || !strings.Contains(errOut, "INCONSISTENT_GROUP_PROTOCOL") {
		t.Fatalf("classic consumer in a consumer group: %q", errOut)
	}

	// a lets go, b takes its partitions: each partition row names its owner.
	a.heartbeat(true)
	bm.heartbeat(true)
	bm.heartbeat(true)
	if a.assignment() != aTarget || bm.assignment() != bTarget || a.epoch != 2 || bm.epoch != 2 {
		t.Fatalf("after revocation a has %s at %d, b %s at %d; want %s and %s at 2", a.assignment(), a.epoch, bm.assignment(), bm.epoch, aTarget, bTarget)
	}
	bm.commit("orders", map[int32]int64{bm.partitions()[0]: 0})
	out = mustSkiff(t, "", "group", "describe", "cg", b)
	if !strings.Contains(out, "State:     Stable\n") || strings.Contains(out, "TARGET-ASSIGNMENT") {
		t.Fatalf("describe once reconciled:\n%s", out)
	}
	owner := map[int32]*kip848Member{}
	for _, m := range []*kip848Member{a, bm} {
		for _, p := range m.partitions() {
			owner[p] = m
		}
	}
	committed := map[int32]string{0: "3 5 2", 1: "2 2 0", 2: "- 0 -"}
	committed[bm.partitions()[0]] = map[int32]string{0: "0 5 5", 1: "0 2 2", 2: "0 0 0"}[bm.partitions()[0]]
	// Members with the most partitions first.
	first, second := a, bm
	if len(bm.partitions()) > len(a.partitions()) {
		first, second = bm, a
	}
	var want []string
	for _, m := range []*kip848Member{first, second} {
		for _, p := range m.partitions() {
			client := map[*kip848Member]string{a: "client-a", bm: "client-b"}[owner[p]]
			want = append(want, "orders "+strconv.Itoa(int(p))+" "+committed[p]+" "+owner[p].id+" /127.0.0.1 "+client)
		}
	}
	wantRows(t, out, want...)

	// Once both left, the group is Empty: reset-offsets and delete work.
	a.leave()
	bm.leave()
	wantMatch(t, "list", mustSkiff(t, "", "group", "list", b), `^cg +consumer +Empty +0 +\S+$`)
	out = mustSkiff(t, "", "group", "describe", "cg", b)
	if !strings.Contains(out, "State:     Empty\n") || !strings.Contains(out, "Members:   0\n") {
		t.Fatalf("describe after the members left:\n%s", out)
	}
	mustSkiff(t, "", "group", "reset-offsets", "cg", "--topic", "orders", "--to-latest", b)
	wantRows(t, mustSkiff(t, "", "group", "describe", "cg", b),
		"orders 0 5 5 0 - - -", "orders 1 2 2 0 - - -", "orders 2 0 0 0 - - -")
	if out := mustSkiff(t, "", "group", "delete", "cg", b); out != "deleted group cg\n" {
		t.Fatalf("delete: %q", out)
	}
	out = mustSkiff(t, "", "group", "list", b)
	if strings.Contains(out, "\ncg ") || !strings.Contains(out, "\nold ") {
		t.Fatalf("list after delete:\n%s", out)
	}
	errOut = skiffFails(t, "group", "describe", "cg", b)
	if !strings.Contains(errOut, "group cg does not exist: see `skiff group list`") {
		t.Fatalf("describe after delete: %q", errOut)
	}
}
