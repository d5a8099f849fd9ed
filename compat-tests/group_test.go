package compat_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds the consumer group scenario that every TestCompatGroup<Client> runs
// (group_<client>_test.go start the members; group_log_test.go checks what they report).
//
// Three members of one group share a 6-partition topic; one leaves cleanly, one is held
// (it keeps reading but stops committing) and then killed without leaving; the last one
// takes over after the session timeout. Every record is read at least once, and a record
// is read again only when no commit had covered it. Then the last member leaves, the
// broker restarts, and a new member must start exactly at the committed offsets: it
// reads only records produced since.
//
// # Notes
//
//   - Each member commits synchronously after every batch it reads and reports what it
//     read and what it committed; the log judges re-reads by the last commit reported
//     for the partition, so a broker that hands out an offset nobody committed, or loses
//     a commit, shows up as a re-read without a reason (or a record never read).
//   - Cooperative members (franz-go, Java, librdkafka's cooperative-sticky) report
//     incremental assignments; for them a member that stays must not lose a partition
//     when another leaves or dies.
//   - The broker's own view decides when a phase is done: DescribeGroups (state and the
//     stored assignment of each member, by client id), or ConsumerGroupDescribe for a
//     group of the consumer protocol (KIP-848), and OffsetFetch (committed offsets
//     equal to the end offsets).
//   - A leave must move partitions well before the session timeout (LeaveGroup took
//     effect), a kill not before it (a closed connection is not a LeaveGroup).
//   - The session timeout is 6s, the broker's minimum, so the kill phase takes ~7-10s.
//     With the consumer protocol the broker owns the session timeout and the
//     heartbeat interval: Kafka's defaults of 45s and 5s, so its kill phase takes
//     about 50s and the phases wait that much longer.

const (
	groupPartitions     = 6
	groupSessionTimeout = 6 * time.Second
	groupPhaseTimeout   = 30 * time.Second // each wait; a phase needs a few seconds
	groupProcTimeout    = 30 * time.Second // a member process asked to leave must exit in this
)

// Records produced in each phase: 3000 before the restart, 300 after it.
const (
	groupBatchJoin    = 1200
	groupBatchLeave   = 600
	groupBatchHeld    = 600
	groupBatchKill    = 600
	groupBatchRestart = 300
)

// groupMember is one member of the group as the scenario drives it, in-process or a
// child process. Every method returns when the member has done it.
type groupMember interface {
	// hold makes the member keep reading but stop committing.
	hold() error
	// leave commits what the member read, sends LeaveGroup (closing the client) and
	// returns when the client is closed.
	leave() error
	// kill ends the member without LeaveGroup: its connections close, or its process
	// gets SIGKILL. It returns when the member reports nothing more.
	kill() error
}

// groupClient is one client library in the scenario.
type groupClient struct {
	name     string // in topic, group and client ids
	assignor string // the assignor its members use, for the log
	// cooperative members report incremental assignments and must keep their
	// partitions across a rebalance that only takes partitions away from others.
	cooperative bool
	// quietRebalances: produce only once a rebalance is over, for a client that hands
	// out records fetched in the previous generation after a rebalance while the new
	// generation starts again at the committed offset, so that records produced
	// during a rebalance come twice from the same member, after it committed them.
	quietRebalances bool
	// consumerProtocol: the members use KIP-848's consumer group protocol, so the
	// broker assigns and its group.consumer.session.timeout.ms (sessionTimeout) applies.
	consumerProtocol bool
	sessionTimeout   time.Duration // 0: groupSessionTimeout
	serverArgs       []string      // extra `skiff server` flags
	// start starts member id ("a", "b", …) with client.id g.clientID(id); it is
	// stopped, if still running, when the test (g.t) ends.
	start func(g *groupRun, id string) (groupMember, error)
}

// session is the members' session timeout.
func (c groupClient) session() time.Duration {
	if c.sessionTimeout > 0 {
		return c.sessionTimeout
	}
	return groupSessionTimeout
}

// phaseTimeout bounds each wait: groupPhaseTimeout, longer by as much as the session
// timeout is.
func (c groupClient) phaseTimeout() time.Duration {
	return groupPhaseTimeout + c.session() - groupSessionTimeout
}

// groupRun is the state of one scenario: the broker, the topic, the group and the log of
// what its members reported.
type groupRun struct {
	t      *testing.T // the client's test, which outlives the phases (subtests)
	s      *harness.Server
	client groupClient
	topic  string
	group  string
	log    *groupLog
	prod   *kgo.Client
	adm    *kadm.Client
	next   int // index of the next record to produce
}

func (g *groupRun) clientID(id string) string { return "compat-group-" + g.client.name + "-" + id }

// runGroupScenario runs the scenario for one client; see the comment at the top.
func runGroupScenario(t *testing.T, c groupClient) {
	began := time.Now()
	s := harness.Start(t, harness.WithArgs(c.serverArgs...))
	g := &groupRun{
		t:      t,
		s:      s,
		client: c,
		topic:  "group-" + c.name,
		group:  "compat-group-" + c.name,
		log:    newGroupLog(),
	}
	harness.CreateTopic(t, s.Addr(), g.topic, groupPartitions)
	g.connect(t)
	t.Logf("%s: group %s, assignor %s, topic %s with %d partitions", c.name, g.group, c.assignor, g.topic, groupPartitions)

	members := map[string]groupMember{}
	phases := []struct {
		name string
		run  func(t *testing.T, g *groupRun, members map[string]groupMember)
	}{
		{"three-members-join", groupJoin},
		{"one-leaves", groupLeave},
		{"one-killed", groupKill},
		{"resume-after-restart", groupRestart},
	}
	for _, ph := range phases {
		start := time.Now()
		g.log.setPhase(ph.name)
		ran := false
		ok := t.Run(ph.name, func(t *testing.T) {
			ran = true
			defer g.log.check(t)
			ph.run(t, g, members)
		})
		if !ran {
			t.Skipf("-run left out phase %s; each phase needs the ones before it, so run the whole test", ph.name)
		}
		t.Logf("%s %s: %v", c.name, ph.name, time.Since(start).Round(time.Millisecond))
		if !ok {
			t.Logf("%s", g.log.summary())
			return
		}
	}
	t.Logf("%s: %s", c.name, g.log.summary())
	t.Logf("%s: scenario took %v", c.name, time.Since(began).Round(time.Millisecond))
}

// groupJoin: three members join and split the six partitions; they read and commit a
// first batch.
func groupJoin(t *testing.T, g *groupRun, members map[string]groupMember) {
	for _, id := range []string{"a", "b", "c"} {
		m, err := g.client.start(g, id)
		if err != nil {
			t.Fatalf("start member %s: %v", id, err)
		}
		members[id] = m
	}
	g.waitStable(t, "three members with two partitions each", map[string]int{"a": 2, "b": 2, "c": 2})
	g.produce(t, groupBatchJoin)
	g.waitCaughtUp(t, "first batch read and committed")
	g.checkBrokerCommitted(t)
}

// groupLeave: member a leaves cleanly; b and c take its partitions, and records produced
// meanwhile are read.
func groupLeave(t *testing.T, g *groupRun, members map[string]groupMember) {
	before := g.log.ownership()
	revokes := g.log.revocations()
	leaving := time.Now()
	if err := members["a"].leave(); err != nil {
		t.Fatalf("member a leave: %v", err)
	}
	if g.client.quietRebalances {
		g.waitStable(t, "b and c with three partitions each", map[string]int{"b": 3, "c": 3})
	}
	g.produce(t, groupBatchLeave)
	g.waitStable(t, "b and c with three partitions each", map[string]int{"b": 3, "c": 3})
	rebalanced := time.Since(leaving)
	t.Logf("b and c own a's partitions %v after a began to leave", rebalanced.Round(time.Millisecond))
	if rebalanced > g.client.session()-time.Second {
		t.Errorf("the group took %v to move the partitions of a member that left, about its %v session timeout: LeaveGroup did not start a rebalance",
			rebalanced.Round(time.Millisecond), g.client.session())
	}
	g.waitCaughtUp(t, "records produced after the leave read and committed")
	g.checkBrokerCommitted(t)
	g.checkKept(t, before, revokes, "b", "c")
}

// groupKill: member b holds its commits, reads a batch, and is killed without leaving;
// after its session expires c takes over its partitions from the last commit, and
// reads again exactly what b read without committing.
func groupKill(t *testing.T, g *groupRun, members map[string]groupMember) {
	if err := members["b"].hold(); err != nil {
		t.Fatalf("member b hold: %v", err)
	}
	g.produce(t, groupBatchHeld)
	g.waitFor(t, "held batch read", func() error {
		if missing := g.log.unread(); len(missing) > 0 {
			return fmt.Errorf("%d records unread, first %v", len(missing), missing[0])
		}
		return nil
	})
	before := g.log.ownership()
	revokes := g.log.revocations()
	if err := members["b"].kill(); err != nil {
		t.Fatalf("member b kill: %v", err)
	}
	killed := time.Now()
	committed, err := g.brokerCommitted()
	if err != nil {
		t.Fatalf("OffsetFetch: %v", err)
	}
	tail := g.log.kill("b", committed)
	if len(tail) == 0 {
		t.Fatalf("member b read nothing after it stopped committing; the kill would test nothing\n%s", g.log.summary())
	}
	t.Logf("member b killed with %d records read but not committed", len(tail))
	if !g.client.quietRebalances {
		g.produce(t, groupBatchKill)
	}
	g.waitStable(t, "c alone with all six partitions", map[string]int{"c": 6})
	takeover := time.Since(killed)
	t.Logf("c owns all partitions %v after the kill (session timeout %v)", takeover.Round(time.Millisecond), g.client.session())
	// b's session started at its last heartbeat, at most 500ms before the kill (a
	// heartbeat interval; with the consumer protocol the broker's 5s).
	interval := 500 * time.Millisecond
	if g.client.consumerProtocol {
		interval = 5 * time.Second
	}
	if takeover < g.client.session()-interval-500*time.Millisecond {
		t.Errorf("the dead member's partitions moved %v after the kill, before its %v session could expire: was a closed connection taken for a LeaveGroup?",
			takeover.Round(time.Millisecond), g.client.session())
	}
	if g.client.quietRebalances {
		g.produce(t, groupBatchKill)
	}
	g.waitCaughtUp(t, "records of the dead member and those produced since read and committed")
	g.checkBrokerCommitted(t)
	if missed := g.log.notReadAgain(tail, "b"); len(missed) > 0 {
		t.Errorf("%d of the %d records b read without committing were not read again, first %v: the group skipped past its committed offset",
			len(missed), len(tail), missed[0])
	}
	g.checkKept(t, before, revokes, "c")
}

// groupRestart: the last member leaves, the broker restarts, and a new member resumes
// exactly at the committed offsets.
func groupRestart(t *testing.T, g *groupRun, members map[string]groupMember) {
	if err := members["c"].leave(); err != nil {
		t.Fatalf("member c leave: %v", err)
	}
	g.waitFor(t, "group empty", func() error {
		d, err := g.describe()
		if err != nil {
			return err
		}
		if d.State != "Empty" || len(d.Members) != 0 {
			return fmt.Errorf("group %s with %d members, want Empty", d.State, len(d.Members))
		}
		return nil
	})
	committed := g.checkBrokerCommitted(t)
	g.s.Restart(t)
	g.connect(t)
	g.waitFor(t, "committed offsets after restart", func() error {
		after, err := g.brokerCommitted()
		if err != nil {
			return err
		}
		if !maps.Equal(after, committed) {
			return fmt.Errorf("committed offsets %v after restart, %v before", after, committed)
		}
		return nil
	})
	g.produce(t, groupBatchRestart)
	g.log.fresh("d", committed)
	m, err := g.client.start(g, "d")
	if err != nil {
		t.Fatalf("start member d: %v", err)
	}
	members["d"] = m
	g.waitStable(t, "d alone with all six partitions", map[string]int{"d": 6})
	g.waitCaughtUp(t, "records produced after the restart read and committed")
	if err := m.leave(); err != nil {
		t.Errorf("member d leave: %v", err)
	}
	if old, n := g.log.freshReads("d"); old > 0 || n != groupBatchRestart {
		t.Errorf("after the restart member d read %d records, %d of them from before the committed offsets %v; want exactly the %d new ones",
			n, old, committed, groupBatchRestart)
	}
}

// connect (re)creates the producer and admin clients, after the broker (re)started.
func (g *groupRun) connect(t *testing.T) {
	t.Helper()
	if g.prod != nil {
		g.prod.Close()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(g.s.Addr()),
		kgo.DefaultProduceTopic(g.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		t.Fatalf("franz-go client: %v", err)
	}
	t.Cleanup(cl.Close)
	g.prod, g.adm = cl, kadm.NewClient(cl)
}

// produce writes n keyed records (the default partitioner hashes keys, as Java does)
// and tells the log where each landed.
func (g *groupRun) produce(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), groupPhaseTimeout)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k := g.next + i
		recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "key-%03d", k%100), Value: fmt.Appendf(nil, "%s-%05d", g.client.name, k)}
	}
	g.next += n
	res := g.prod.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce %d records: %v", n, err)
	}
	for _, r := range res {
		g.log.wrote(r.Record.Partition, r.Record.Offset, string(r.Record.Value))
	}
}

// waitFor polls check every 100ms until it passes, failing the test after the
// client's phase timeout with the last error and the log's summary.
func (g *groupRun) waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	timeout := g.client.phaseTimeout()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v\n%s\ngroup: %s", timeout, what, err, g.log.summary(), g.describeString())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitStable waits until DescribeGroups shows the group Stable with exactly the given
// members (by client id), each assigned the given number of partitions, together all.
func (g *groupRun) waitStable(t *testing.T, what string, want map[string]int) {
	t.Helper()
	g.waitFor(t, what, func() error {
		d, err := g.describe()
		if err != nil {
			return err
		}
		if d.State != "Stable" {
			return fmt.Errorf("group is %s", d.State)
		}
		got := g.assignments(d)
		if len(got) != len(d.Members) {
			return fmt.Errorf("members %v share a client id", got)
		}
		all := map[int32]bool{}
		for id, n := range want {
			ps, ok := got[g.clientID(id)]
			if !ok {
				return fmt.Errorf("member %s is not in the group %v", id, got)
			}
			if len(ps) != n {
				return fmt.Errorf("member %s has partitions %v, want %d of them (all: %v)", id, ps, n, got)
			}
			for _, p := range ps {
				all[p] = true
			}
		}
		if len(got) != len(want) || len(all) != groupPartitions {
			return fmt.Errorf("assignments %v, want members %v covering %d partitions", got, slices.Sorted(maps.Keys(want)), groupPartitions)
		}
		return nil
	})
}

// waitCaughtUp waits until every record produced was read and the broker's committed
// offset of every partition is its end offset.
func (g *groupRun) waitCaughtUp(t *testing.T, what string) {
	t.Helper()
	g.waitFor(t, what, func() error {
		if missing := g.log.unread(); len(missing) > 0 {
			return fmt.Errorf("%d records unread, first %v", len(missing), missing[0])
		}
		got, err := g.brokerCommitted()
		if err != nil {
			return fmt.Errorf("OffsetFetch: %w", err)
		}
		if want := g.log.endOffsets(); !maps.Equal(got, want) {
			return fmt.Errorf("committed offsets %v, end offsets %v", got, want)
		}
		return nil
	})
}

// groupView is the broker's view of the group: its state and each member's
// partitions of the topic, by client id.
type groupView struct {
	State   string
	Members []groupViewMember
}

type groupViewMember struct {
	ClientID   string
	Partitions []int32
}

// describe asks the broker for the group: DescribeGroups (the assignment the leader
// stored), or ConsumerGroupDescribe for the consumer protocol (each member's current
// assignment, including partitions it is still revoking).
func (g *groupRun) describe() (groupView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v groupView
	if g.client.consumerProtocol {
		ds, err := g.adm.DescribeConsumerGroups(ctx, g.group)
		if err != nil {
			return v, err
		}
		d, ok := ds[g.group]
		if !ok {
			return v, errors.New("ConsumerGroupDescribe answered without the group")
		}
		v.State = d.State
		for _, m := range d.Members {
			ps := []int32{}
			for p := range m.Assignment[g.topic] {
				ps = append(ps, p)
			}
			slices.Sort(ps)
			v.Members = append(v.Members, groupViewMember{m.ClientID, ps})
		}
		return v, d.Err
	}
	ds, err := g.adm.DescribeGroups(ctx, g.group)
	if err != nil {
		return v, err
	}
	d, ok := ds[g.group]
	if !ok {
		return v, errors.New("DescribeGroups answered without the group")
	}
	v.State = d.State
	for _, m := range d.Members {
		ps := []int32{}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				if tp.Topic == g.topic {
					ps = append(ps, tp.Partitions...)
				}
			}
		}
		slices.Sort(ps)
		v.Members = append(v.Members, groupViewMember{m.ClientID, ps})
	}
	return v, d.Err
}

// assignments maps each member's client id to the partitions of the topic it was
// assigned, as the broker stored them.
func (g *groupRun) assignments(d groupView) map[string][]int32 {
	got := map[string][]int32{}
	for _, m := range d.Members {
		got[m.ClientID] = m.Partitions
	}
	return got
}

func (g *groupRun) describeString() string {
	d, err := g.describe()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s, assignments %v", d.State, g.assignments(d))
}

// brokerCommitted fetches the group's committed offsets for the topic (OffsetFetch).
func (g *groupRun) brokerCommitted() (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resps, err := g.adm.FetchOffsets(ctx, g.group)
	if err != nil {
		return nil, err
	}
	if err := resps.Error(); err != nil {
		return nil, err
	}
	got := map[int32]int64{}
	for p, r := range resps[g.topic] {
		got[p] = r.At
	}
	return got, nil
}

// checkBrokerCommitted checks that the broker's committed offsets are the end offsets,
// as the members reported committing, and returns them.
func (g *groupRun) checkBrokerCommitted(t *testing.T) map[int32]int64 {
	t.Helper()
	got, err := g.brokerCommitted()
	if err != nil {
		t.Fatalf("OffsetFetch: %v", err)
	}
	want := g.log.endOffsets()
	if !maps.Equal(got, want) {
		t.Fatalf("broker's committed offsets %v, want the end offsets %v that the members committed", got, want)
	}
	return got
}

// checkKept checks, for a cooperative client, that each member in stay still owns every
// partition it owned before and gave none back.
func (g *groupRun) checkKept(t *testing.T, before map[string][]int32, revokes map[string]int, stay ...string) {
	t.Helper()
	if !g.client.cooperative {
		return
	}
	after := g.log.ownership()
	for _, id := range stay {
		var lost []int32
		for _, p := range before[id] {
			if !slices.Contains(after[id], p) {
				lost = append(lost, p)
			}
		}
		if n := g.log.revocations()[id] - revokes[id]; n > 0 || len(lost) > 0 {
			t.Errorf("cooperative member %s had partitions revoked %d times (lost %v): before %v, after %v; only the partitions that move may be revoked",
				id, n, lost, before[id], after[id])
		} else {
			t.Logf("member %s kept %v and now owns %v", id, before[id], after[id])
		}
	}
}

// sortedParts returns the keys of a partition set in order.
func sortedParts(set map[int32]bool) []int32 {
	ps := make([]int32, 0, len(set))
	for p := range set {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}
