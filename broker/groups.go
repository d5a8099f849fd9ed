package broker

import (
	"crypto/rand"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// The classic consumer group coordinator (JoinGroup / SyncGroup protocol).
// This node is the coordinator of every group. A group's state lives in
// memory here; what must survive a restart (offsets, and the members and
// assignments of each generation) goes through the offsets Raft group
// (raftlog.Offsets), whose FSM keeps it in Pebble.
//
// The state machine follows Kafka's GroupCoordinator:
//
//	Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//	  ▲                  ▲        │                                   │ leader's SyncGroup
//	  │                  │        └──no members left──▶ Empty         ▼ (stored through Raft)
//	  └──last member gone┴─── join of a new member, leave, expiry ─── Stable
//
// Dead is a deleted group. Each group has its own mutex (taken before the
// coordinator's, never after); work that waits
// (JoinGroup until the rebalance completes, SyncGroup until the leader's
// assignment) waits in the connection's writer, in request order, so a
// connection's group requests are handled one after the other as Kafka does.
//
// groups_join.go holds JoinGroup and the rebalance; groups_members.go holds
// SyncGroup, Heartbeat, LeaveGroup and the session and sync timers.

type groupState int8

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
	groupDead
)

var groupStateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s groupState) String() string { return groupStateNames[s] }

// offsetMetadataMaxBytes is Kafka's offset.metadata.max.bytes default.
const offsetMetadataMaxBytes = 4096

type coordinator struct {
	b      *Broker
	store  *raftlog.Offsets
	closed atomic.Bool

	mu     sync.Mutex
	groups map[string]*group
}

type group struct {
	c    *coordinator
	name string

	mu           sync.Mutex
	state        groupState
	stateTime    time.Time
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	static       map[string]string      // group.instance.id → member id
	pending      map[string]*time.Timer // KIP-394 member ids handed out, not yet joined
	pendingSync  map[string]bool        // members of this generation that have not synced
	seq          uint64                 // join order, to pick a leader
	timerSeq     uint64                 // bumped to invalidate the rebalance timer
	timer        *time.Timer            // rebalance, initial delay or pending-sync timer
	initialDelay bool                   // the running rebalance is the initial delayed join
	newMember    bool                   // a member joined during the initial delay

	// cg is set for a group of the consumer protocol (KIP-848,
	// consumer_group.go); the classic fields above are then unused.
	cg *consumerGroup
}

type member struct {
	id, instanceID       string
	clientID, clientHost string
	session, rebalance   time.Duration
	protocolType         string
	protocols            []kmsg.JoinGroupRequestProtocol
	assignment           []byte
	seq                  uint64

	deadline time.Time // session expiry, moved by every heartbeat
	timer    *time.Timer

	joinCh  chan kmsg.Response // non-nil while awaiting the rebalance
	joinVer int16
	syncCh  chan kmsg.Response // non-nil while awaiting the leader's assignment
	syncVer int16
}

// openGroups opens the offsets group and loads the stored groups: members of
// a stable group are back as they were and keep their generation if they
// heartbeat within their session timeout; offsets are there either way.
func (b *Broker) openGroups() error {
	store, err := raftlog.OpenOffsets(b.store, b.groupOptions())
	if err != nil {
		return err
	}
	if err := store.WaitLeader(10 * time.Second); err != nil {
		store.Close()
		return err
	}
	c := &coordinator{b: b, store: store, groups: map[string]*group{}}
	for _, gm := range store.Groups() {
		c.groups[gm.Group] = c.loadGroup(gm)
	}
	for _, cm := range store.ConsumerGroups() {
		c.groups[cm.Group] = c.loadConsumerGroup(cm)
	}
	b.groups = c
	return nil
}

func (c *coordinator) loadGroup(gm raftlog.GroupMeta) *group {
	g := c.newGroup(gm.Group)
	g.protocolType, g.protocol, g.leader, g.generation = gm.ProtocolType, gm.Protocol, gm.Leader, gm.Generation
	if gm.StateTime > 0 {
		g.stateTime = time.UnixMilli(gm.StateTime)
	}
	if len(gm.Members) == 0 {
		return g
	}
	g.state = groupStable
	for _, sm := range gm.Members {
		g.seq++
		m := &member{
			id: sm.MemberID, instanceID: sm.InstanceID, clientID: sm.ClientID, clientHost: sm.ClientHost,
			session: ms(sm.SessionTimeoutMs), rebalance: ms(sm.RebalanceTimeoutMs), protocolType: gm.ProtocolType,
			protocols:  []kmsg.JoinGroupRequestProtocol{{Name: gm.Protocol, Metadata: sm.Subscription}},
			assignment: sm.Assignment, seq: g.seq,
		}
		g.members[m.id] = m
		if m.instanceID != "" {
			g.static[m.instanceID] = m.id
		}
		g.startSession(m)
	}
	return g
}

func (c *coordinator) newGroup(name string) *group {
	return &group{c: c, name: name, stateTime: time.Now(), members: map[string]*member{},
		static: map[string]string{}, pending: map[string]*time.Timer{}, pendingSync: map[string]bool{}}
}

// close stops every timer and the offsets group. Requests waiting for a
// rebalance are answered by the broker's context being done.
func (c *coordinator) close() error {
	c.closed.Store(true)
	for _, g := range c.sortedGroups() {
		g.mu.Lock()
		g.stopTimers()
		g.mu.Unlock()
	}
	return c.store.Close()
}

// group returns the named group, creating an empty one if create is set.
func (c *coordinator) group(name string, create bool) *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[name]
	if g == nil && create {
		g = c.newGroup(name)
		c.groups[name] = g
	}
	return g
}

// sortedGroups returns the groups ordered by name.
func (c *coordinator) sortedGroups() []*group {
	c.mu.Lock()
	out := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		out = append(out, g)
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// remove marks a group dead and forgets it; g.mu is held.
func (c *coordinator) remove(g *group) {
	g.transition(groupDead)
	g.stopTimers()
	c.mu.Lock()
	if c.groups[g.name] == g {
		delete(c.groups, g.name)
	}
	c.mu.Unlock()
}

// await waits for a response sent on ch, or answers with fallback when the
// broker shuts down first.
func (c *coordinator) await(ch chan kmsg.Response, fallback func() kmsg.Response) kmsg.Response {
	select {
	case r := <-ch:
		return r
	case <-c.b.ctx.Done():
		return fallback()
	}
}

// topicDeleted removes a deleted topic's offsets from every group, and the
// empty groups that have no offsets left, as Kafka does.
func (c *coordinator) topicDeleted(topic string) {
	if err := c.store.DeleteTopic(topic).Wait(); err != nil {
		c.b.log.Error("remove offsets of deleted topic", "topic", topic, "err", err)
		return
	}
	for _, g := range c.sortedGroups() {
		g.mu.Lock()
		if g.empty() && !c.store.HasOffsets(g.name) {
			c.remove(g)
			c.store.DeleteGroup(g.name)
		}
		g.mu.Unlock()
	}
}

// empty reports a group without members (of either protocol) or member ids
// handed out; g.mu is held.
func (g *group) empty() bool {
	if g.cg != nil {
		return len(g.cg.members) == 0
	}
	return g.classicEmpty()
}

// transition moves the group to a new state; g.mu is held.
func (g *group) transition(s groupState) {
	g.state = s
	g.stateTime = time.Now()
}

func (g *group) stopTimers() {
	g.timerSeq++
	if g.timer != nil {
		g.timer.Stop()
	}
	for _, m := range g.members {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
	for _, t := range g.pending {
		t.Stop()
	}
	g.stopConsumerTimers()
}

// persist submits the group's current generation to the offsets group; g.mu
// is held, so stores of one group reach Raft in order.
func (g *group) persist() *raftlog.OffsetsFuture {
	gm := &raftlog.GroupMeta{Group: g.name, ProtocolType: g.protocolType, Protocol: g.protocol,
		Leader: g.leader, Generation: g.generation, StateTime: g.stateTime.UnixMilli()}
	for _, m := range g.sortedMembers() {
		gm.Members = append(gm.Members, raftlog.GroupMember{
			MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost,
			SessionTimeoutMs: int32(m.session / time.Millisecond), RebalanceTimeoutMs: int32(m.rebalance / time.Millisecond),
			Subscription: m.metadata(g.protocol), Assignment: m.assignment,
		})
	}
	return g.c.store.StoreGroup(gm)
}

// persistAsync stores the group without making anyone wait for it (changes
// no client is answered about: expiry, an emptied group).
func (g *group) persistAsync() {
	f := g.persist()
	go func() {
		if err := f.Wait(); err != nil && !g.c.closed.Load() {
			g.c.b.log.Warn("store consumer group", "group", g.name, "err", err)
		}
	}()
}

func (g *group) sortedMembers() []*member {
	out := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// checkMember applies Kafka's member validation: a static member is found by
// its instance id (unknown: UNKNOWN_MEMBER_ID; held by another member id:
// FENCED_INSTANCE_ID), a dynamic one by its member id. 0 if current.
func (g *group) checkMember(memberID, instanceID string) int16 {
	if instanceID != "" {
		id, ok := g.static[instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case id != memberID:
			return kerr.FencedInstanceID.Code
		}
		return 0
	}
	if g.members[memberID] == nil {
		return kerr.UnknownMemberID.Code
	}
	return 0
}

func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// subscribedTopics decodes the topics a consumer-protocol member subscribes
// to (for OffsetDelete); nil if the metadata is not the consumer protocol.
func (m *member) subscribedTopics(protocol string) []string {
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(m.metadata(protocol)); err != nil {
		return nil
	}
	return meta.Topics
}

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

// newMemberID is Kafka's form: the client id (or group.instance.id) and a UUID.
func newMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// clientHost is the member's address as Kafka shows it ("/127.0.0.1").
func clientHost(r *request) string {
	if r.conn == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(r.conn.remote)
	if err != nil {
		return "/" + r.conn.remote
	}
	return "/" + host
}

// coordinatorCode checks that this node can serve a group request now.
func (c *coordinator) coordinatorCode() int16 {
	if !c.store.IsLeader() {
		return kerr.NotCoordinator.Code
	}
	return 0
}
