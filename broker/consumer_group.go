package broker

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"sort"
	"time"

	"github.com/skiffstream/skiff/raftlog"
)

// The consumer group protocol of KIP-848 (ConsumerGroupHeartbeat), as Kafka
// 4.x's GroupMetadataManager and ConsumerGroup run it. The broker assigns:
// members only say what they subscribe to and what they own.
//
// Three epochs drive a group:
//
//	group epoch      bumped by every change of membership or subscriptions,
//	                 and when the subscribed topics' metadata changes
//	assignment epoch the group epoch the target assignment was computed for
//	                 (by the uniform or range assignor, on the next heartbeat
//	                 after a bump)
//	member epoch     the assignment epoch a member has reconciled to
//
// A member moves towards its target assignment one heartbeat at a time
// (consumer_group_reconcile.go): partitions it must give up are revoked first
// (it stays at its epoch, UNREVOKED_PARTITIONS, until its heartbeat no longer
// lists them); a partition is handed to its new owner only once the previous
// owner has released it (UNRELEASED_PARTITIONS meanwhile). The group is
// Empty without members, Assigning while the group epoch is ahead of the
// assignment epoch, Reconciling while a member has not reached the target,
// and Stable otherwise.
//
// A consumer group lives in the coordinator's map like a classic group
// (group.cg is set and the classic fields are unused), under the same lock.
// Every change a member is answered about is stored through the offsets Raft
// group (raftlog.StoreConsumerGroup, the whole group as one value) before the
// answer goes out, so members, epochs and target assignment survive a restart
// and members carry on with their epochs after it.
//
// # Notes
//   - Regular expressions are resolved when a member subscribes and whenever
//     the topics change, synchronously (Kafka resolves them in the
//     background, at most every 10 s); the group epoch is bumped once the
//     result differs.
//   - Topic metadata changes (a topic created, deleted, given partitions)
//     are noticed on the next heartbeat: the hash of the subscribed topics'
//     ids and partition counts is recomputed when the topic view changed.
//   - group.consumer.assignment.interval.ms (Kafka 4.3+: target assignments
//     computed at most once a second) is not applied: a target is computed
//     on the first heartbeat after every bump.

// reconState is a member's reconciliation state (Kafka's MemberState).
type reconState int8

const (
	reconStable     reconState = iota // reached its target assignment epoch
	reconUnrevoked                    // must revoke partitions before it moves on
	reconUnreleased                   // waits for partitions others still own
)

// Member epochs a ConsumerGroupHeartbeat carries besides real epochs.
const (
	epochJoin        = 0  // join or rejoin
	epochLeave       = -1 // leave the group
	epochStaticLeave = -2 // a static member leaves and will be back
)

// topicPart names a partition by topic id, as the consumer protocol does.
type topicPart struct {
	id [16]byte
	p  int32
}

func (a topicPart) less(b topicPart) bool {
	if c := compareIDs(a.id, b.id); c != 0 {
		return c < 0
	}
	return a.p < b.p
}

func compareIDs(a, b [16]byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// partSet is a set of partitions (a target assignment). Sets and the epoch
// maps of a member are never changed once stored: changes make new ones, so
// a member can be copied cheaply to compute its next state.
type partSet map[topicPart]struct{}

// partEpochs maps each owned partition to the epoch it was assigned in.
type partEpochs map[topicPart]int32

type consumerGroup struct {
	epoch           int32
	assignmentEpoch int32
	members         map[string]*consumerMember
	static          map[string]string  // group.instance.id → member id
	target          map[string]partSet // member id → target assignment
	owners          map[topicPart]string
	metadataHash    uint64
	regexes         map[string][]string // subscribed regex → matching topics
	view            *topicView          // the topics metadataHash and regexes are of
}

type consumerMember struct {
	id, instanceID, rackID string
	clientID, clientHost   string
	epoch, prevEpoch       int32
	state                  reconState
	rebalanceTimeoutMs     int32
	topics                 []string // subscribed names, sorted
	regex                  string
	assignor               string // server assignor asked for, or ""
	assigned               partEpochs
	revoking               partEpochs // pending revocation

	deadline  time.Time    // session expiry, moved by every heartbeat
	session   *memberTimer // re-arms itself until the deadline passes
	rebalance *memberTimer // while UNREVOKED_PARTITIONS
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{members: map[string]*consumerMember{}, static: map[string]string{},
		target: map[string]partSet{}, owners: map[topicPart]string{}, regexes: map[string][]string{}}
}

// stateName is the group state as Kafka names it.
func (cg *consumerGroup) stateName() string {
	switch {
	case len(cg.members) == 0:
		return "Empty"
	case cg.epoch > cg.assignmentEpoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if !m.reconciledTo(cg.assignmentEpoch) {
			return "Reconciling"
		}
	}
	return "Stable"
}

func (m *consumerMember) reconciledTo(epoch int32) bool {
	return m.state == reconStable && m.epoch == epoch
}

// owns reports whether the member owns a partition (assigned or pending
// revocation) and the epoch it was assigned in.
func (m *consumerMember) owns(tp topicPart) (int32, bool) {
	if e, ok := m.assigned[tp]; ok {
		return e, true
	}
	e, ok := m.revoking[tp]
	return e, ok
}

func (cg *consumerGroup) sortedMembers() []*consumerMember {
	out := make([]*consumerMember, 0, len(cg.members))
	for _, m := range cg.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// staticMember returns the member holding an instance id, or nil.
func (cg *consumerGroup) staticMember(instanceID string) *consumerMember {
	if id, ok := cg.static[instanceID]; ok {
		return cg.members[id]
	}
	return nil
}

// putMember stores a member's new state (a new member, or a new version of
// one), keeping the partition owners in step.
func (cg *consumerGroup) putMember(m *consumerMember) {
	if old := cg.members[m.id]; old != nil {
		cg.releaseOwned(old)
	}
	cg.members[m.id] = m
	if m.instanceID != "" {
		cg.static[m.instanceID] = m.id
	}
	for tp := range m.assigned {
		cg.owners[tp] = m.id
	}
	for tp := range m.revoking {
		cg.owners[tp] = m.id
	}
}

// dropMember takes a member out of the group with its target assignment and
// partitions; its timers are stopped.
func (cg *consumerGroup) dropMember(m *consumerMember) {
	stopTimer(m.session)
	stopTimer(m.rebalance)
	cg.releaseOwned(m)
	delete(cg.members, m.id)
	delete(cg.target, m.id)
	if m.instanceID != "" && cg.static[m.instanceID] == m.id {
		delete(cg.static, m.instanceID)
	}
}

func (cg *consumerGroup) releaseOwned(m *consumerMember) {
	for tp := range m.assigned {
		if cg.owners[tp] == m.id {
			delete(cg.owners, tp)
		}
	}
	for tp := range m.revoking {
		if cg.owners[tp] == m.id {
			delete(cg.owners, tp)
		}
	}
}

// preferredAssignor is the server assignor most members ask for (ties go to
// the one configured first), or the default: the first configured.
func (cg *consumerGroup) preferredAssignor(configured []string) string {
	counts := map[string]int{}
	for _, m := range cg.members {
		if m.assignor != "" {
			counts[m.assignor]++
		}
	}
	best := configured[0]
	for _, a := range configured {
		if counts[a] > counts[best] {
			best = a
		}
	}
	return best
}

// newConsumerMemberID is a random UUID in Kafka's text form (URL-safe
// base64 without padding), which Kafka 4 clients also generate themselves.
func newConsumerMemberID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// persistConsumer submits the group's state to the offsets group; g.mu is
// held, so the stores of one group reach Raft in order.
func (g *group) persistConsumer() *raftlog.OffsetsFuture {
	cg := g.cg
	meta := &raftlog.ConsumerGroupMeta{Group: g.name, Epoch: cg.epoch, AssignmentEpoch: cg.assignmentEpoch, MetadataHash: cg.metadataHash}
	for _, m := range cg.sortedMembers() {
		meta.Members = append(meta.Members, raftlog.ConsumerMember{
			MemberID: m.id, InstanceID: m.instanceID, RackID: m.rackID, ClientID: m.clientID, ClientHost: m.clientHost,
			MemberEpoch: m.epoch, PreviousEpoch: m.prevEpoch, State: int8(m.state), RebalanceTimeoutMs: m.rebalanceTimeoutMs,
			SubscribedTopics: m.topics, SubscribedRegex: m.regex, ServerAssignor: m.assignor,
			Assigned: epochsToStored(m.assigned), PendingRevocation: epochsToStored(m.revoking),
			Target: setToStored(cg.target[m.id]),
		})
	}
	return g.c.store.StoreConsumerGroup(meta)
}

// persistConsumerAsync stores the group without making anyone wait for it
// (changes no client is answered about: expiry, rebalance timeouts).
func (g *group) persistConsumerAsync() {
	f := g.persistConsumer()
	go func() {
		if err := f.Wait(); err != nil && !g.c.closed.Load() {
			g.c.b.log.Warn("store consumer group", "group", g.name, "err", err)
		}
	}()
}

// loadConsumerGroup rebuilds a group stored before a restart. Every member
// gets a fresh session (Kafka does the same when it loads a group), and a
// member that was revoking gets its rebalance timeout again.
func (c *coordinator) loadConsumerGroup(meta *raftlog.ConsumerGroupMeta) *group {
	g := c.newGroup(meta.Group)
	g.mu.Lock() // for the timers started here
	defer g.mu.Unlock()
	cg := newConsumerGroup()
	cg.epoch, cg.assignmentEpoch, cg.metadataHash = meta.Epoch, meta.AssignmentEpoch, meta.MetadataHash
	g.cg = cg
	for _, sm := range meta.Members {
		m := &consumerMember{
			id: sm.MemberID, instanceID: sm.InstanceID, rackID: sm.RackID, clientID: sm.ClientID, clientHost: sm.ClientHost,
			epoch: sm.MemberEpoch, prevEpoch: sm.PreviousEpoch, state: reconState(sm.State), rebalanceTimeoutMs: sm.RebalanceTimeoutMs,
			topics: slices.Clone(sm.SubscribedTopics), regex: sm.SubscribedRegex, assignor: sm.ServerAssignor,
			assigned: storedToEpochs(sm.Assigned), revoking: storedToEpochs(sm.PendingRevocation),
		}
		cg.putMember(m)
		if t := storedToSet(sm.Target); t != nil {
			cg.target[m.id] = t
		}
		g.touchConsumer(m)
		if m.state == reconUnrevoked {
			g.startRebalanceTimer(m)
		}
	}
	return g
}

func epochsToStored(pe partEpochs) []raftlog.ConsumerTopicPartitions {
	tps := make([]topicPart, 0, len(pe))
	for tp := range pe {
		tps = append(tps, tp)
	}
	out := groupByTopic(tps)
	for i := range out {
		out[i].Epochs = make([]int32, len(out[i].Partitions))
		for j, p := range out[i].Partitions {
			out[i].Epochs[j] = pe[topicPart{out[i].TopicID, p}]
		}
	}
	return out
}

func setToStored(s partSet) []raftlog.ConsumerTopicPartitions {
	tps := make([]topicPart, 0, len(s))
	for tp := range s {
		tps = append(tps, tp)
	}
	return groupByTopic(tps)
}

// groupByTopic sorts partitions and groups them by topic id.
func groupByTopic(tps []topicPart) []raftlog.ConsumerTopicPartitions {
	sort.Slice(tps, func(i, j int) bool { return tps[i].less(tps[j]) })
	var out []raftlog.ConsumerTopicPartitions
	for _, tp := range tps {
		if n := len(out); n == 0 || out[n-1].TopicID != tp.id {
			out = append(out, raftlog.ConsumerTopicPartitions{TopicID: tp.id})
		}
		last := &out[len(out)-1]
		last.Partitions = append(last.Partitions, tp.p)
	}
	return out
}

func storedToEpochs(ts []raftlog.ConsumerTopicPartitions) partEpochs {
	if len(ts) == 0 {
		return nil
	}
	out := partEpochs{}
	for _, t := range ts {
		for i, p := range t.Partitions {
			var e int32
			if i < len(t.Epochs) {
				e = t.Epochs[i]
			}
			out[topicPart{t.TopicID, p}] = e
		}
	}
	return out
}

func storedToSet(ts []raftlog.ConsumerTopicPartitions) partSet {
	if len(ts) == 0 {
		return nil
	}
	out := partSet{}
	for _, t := range ts {
		for _, p := range t.Partitions {
			out[topicPart{t.TopicID, p}] = struct{}{}
		}
	}
	return out
}

// consumerSessionTimeout is group.consumer.session.timeout.ms (Kafka: 45 s).
func (c *Config) consumerSessionTimeout() time.Duration {
	if c.ConsumerGroupSessionTimeout <= 0 {
		return 45 * time.Second
	}
	return c.ConsumerGroupSessionTimeout
}

// consumerHeartbeatInterval is group.consumer.heartbeat.interval.ms (5 s).
func (c *Config) consumerHeartbeatInterval() time.Duration {
	if c.ConsumerGroupHeartbeatInterval <= 0 {
		return 5 * time.Second
	}
	return c.ConsumerGroupHeartbeatInterval
}

// consumerAssignors is group.consumer.assignors: the known ones configured,
// in order, or uniform and range.
func (c *Config) consumerAssignors() []string {
	var out []string
	for _, a := range c.ConsumerGroupAssignors {
		if assignors[a] != nil && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return []string{"uniform", "range"}
	}
	return out
}

// leaveConsumerProtocol turns an empty consumer group into an empty classic
// group, for a classic JoinGroup (Kafka does the same; offsets stay). It
// reports false, changing nothing, while the group has members. g.mu is held.
func (g *group) leaveConsumerProtocol() bool {
	if len(g.cg.members) > 0 {
		return false
	}
	g.stopConsumerTimers()
	g.cg = nil
	g.protocolType, g.protocol, g.leader = "", "", ""
	g.transition(groupEmpty)
	g.persistAsync() // replaces the stored consumer group
	return true
}
