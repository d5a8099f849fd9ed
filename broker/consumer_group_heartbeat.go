package broker

import (
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The consumer group state machine: one ConsumerGroupHeartbeat (join,
// heartbeat, leave), and the session and rebalance timers that fence members,
// as Kafka's GroupMetadataManager.consumerGroupHeartbeat runs them.

// cgError is a Kafka error with the message Kafka gives for it.
type cgError struct {
	err *kerr.Error
	msg string
}

func cgErr(err *kerr.Error, format string, args ...any) *cgError {
	return &cgError{err: err, msg: fmt.Sprintf(format, args...)}
}

// cgHeartbeat is one ConsumerGroupHeartbeat, with the fields a client may
// leave out (nil: unchanged) as pointers.
type cgHeartbeat struct {
	memberID         string
	epoch            int32
	instanceID       *string
	rackID           *string
	rebalanceTimeout int32 // -1: unchanged
	topics           []string
	regex            *string
	assignor         *string
	owned            []kmsg.ConsumerGroupHeartbeatRequestTopic // nil: unchanged
	clientID, host   string
}

// full reports a request with every field set, which a member sends when it
// joins or after an error; it gets its whole assignment back.
func (h *cgHeartbeat) full() bool {
	return h.rebalanceTimeout != -1 && (h.topics != nil || h.regex != nil) && h.owned != nil
}

// heartbeatResult is what a heartbeat changed and what to answer.
type heartbeatResult struct {
	memberID       string
	epoch          int32
	assignment     []topicPart // nil: not sent
	sendAssignment bool
	changed        bool // the group must be stored before the answer
}

// consumerLeave handles MemberEpoch -1 (leave) and -2 (a static member
// leaves for now and keeps its partitions until it is back or its session
// ends). g.mu is held.
func (g *group) consumerLeave(h *cgHeartbeat) (*heartbeatResult, *cgError) {
	cg := g.cg
	res := &heartbeatResult{memberID: h.memberID, epoch: h.epoch, changed: true}
	if h.instanceID == nil {
		m := cg.members[h.memberID]
		if m == nil {
			return nil, cgErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", h.memberID, g.name)
		}
		g.c.b.log.Info("consumer group member left", "group", g.name, "member", m.id)
		g.fenceConsumer(m)
		return res, nil
	}
	m := cg.staticMember(*h.instanceID)
	switch {
	case m == nil:
		return nil, cgErr(kerr.UnknownMemberID, "Instance id %s is unknown.", *h.instanceID)
	case m.id != h.memberID:
		return nil, cgErr(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.", h.memberID, *h.instanceID, m.id)
	case h.epoch == epochStaticLeave:
		// Its partitions stay with it, and count from epoch 0 for the
		// member that takes the instance id over.
		nm := *m
		nm.epoch = epochStaticLeave
		nm.revoking = nil
		nm.assigned = make(partEpochs, len(m.assigned))
		for tp := range m.assigned {
			nm.assigned[tp] = 0
		}
		cg.putMember(&nm)
		g.c.b.log.Info("static consumer group member left temporarily", "group", g.name, "member", m.id, "instance", m.instanceID)
		res.memberID = m.id
		return res, nil
	}
	g.c.b.log.Info("static consumer group member left", "group", g.name, "member", m.id, "instance", m.instanceID)
	g.fenceConsumer(m)
	return res, nil
}

// consumerHeartbeat handles a join (epoch 0) or a heartbeat of a member.
// g.mu is held and g.cg is set.
func (g *group) consumerHeartbeat(h *cgHeartbeat) (*heartbeatResult, *cgError) {
	cg := g.cg
	memberID := h.memberID
	if memberID == "" { // v0 joins: the coordinator names the member
		memberID = newConsumerMemberID()
	}
	m, replaced, isNew, e := g.findConsumerMember(h, memberID)
	if e != nil {
		return nil, e
	}

	// 1. The member's new subscription and metadata.
	nm := *m
	if h.instanceID != nil {
		nm.instanceID = *h.instanceID
	}
	if h.rackID != nil {
		nm.rackID = *h.rackID
	}
	if h.rebalanceTimeout != -1 {
		nm.rebalanceTimeoutMs = h.rebalanceTimeout
	}
	if h.assignor != nil {
		nm.assignor = *h.assignor
	}
	if h.topics != nil {
		nm.topics = sortedUnique(h.topics)
	}
	if h.regex != nil {
		nm.regex = *h.regex
	}
	nm.clientID, nm.clientHost = h.clientID, h.host
	topicsChanged := !slices.Equal(m.topics, nm.topics)
	regexChanged := m.regex != nm.regex
	if regexChanged && nm.regex != "" && cg.regexes[nm.regex] == nil {
		if err := checkTopicRegex(nm.regex); err != "" {
			return nil, cgErr(kerr.InvalidRegularExpression, "SubscribedTopicRegex `%s` is not a valid regular expression: %s.", nm.regex, err)
		}
	}
	subscriptionChanged := topicsChanged || regexChanged
	changed := isNew || replaced != nil || !sameMemberMetadata(m, &nm)

	if replaced != nil {
		// The new member takes over the instance id, the partitions and
		// the target assignment of the one it replaces.
		if t, ok := cg.target[replaced.id]; ok {
			cg.target[nm.id] = t
		}
		cg.dropMember(replaced)
		g.c.b.log.Info("static consumer group member rejoined", "group", g.name, "instance", nm.instanceID, "member", nm.id, "replaces", replaced.id)
	} else if isNew {
		g.c.b.log.Info("consumer group member joined", "group", g.name, "member", nm.id, "instance", nm.instanceID)
	}
	cg.putMember(&nm)

	// 2. A new group epoch when subscriptions or the subscribed topics
	// changed, then a new target assignment when it is behind.
	view := g.c.b.view.Load()
	bump := subscriptionChanged
	if bump || cg.view != view {
		if cg.refreshSubscriptions(view) {
			bump = true
		}
	}
	if bump {
		cg.epoch++
		changed = true
		g.c.b.log.Debug("consumer group epoch bumped", "group", g.name, "epoch", cg.epoch)
	}
	if cg.assignmentEpoch < cg.epoch {
		g.computeTargetAssignment(view)
		changed = true
	}

	// 3. Reconcile the member towards its target.
	final := &nm
	if subscriptionChanged || !nm.reconciledTo(cg.assignmentEpoch) {
		final = cg.reconcile(&nm, view, subscriptionChanged, h.owned)
		if final != &nm {
			cg.putMember(final)
			changed = true
		}
	}
	if final.state == reconUnrevoked {
		if m.state != reconUnrevoked || final.epoch != m.epoch || final.rebalance == nil {
			g.startRebalanceTimer(final)
		}
	} else {
		stopTimer(final.rebalance)
		final.rebalance = nil
	}
	g.touchConsumer(final)

	res := &heartbeatResult{memberID: final.id, epoch: final.epoch, changed: changed}
	if h.epoch == epochJoin || h.full() || !sameKeys(m.assigned, final.assigned) {
		res.sendAssignment = true
		for tp := range final.assigned {
			res.assignment = append(res.assignment, tp)
		}
	}
	return res, nil
}

// findConsumerMember returns the member a heartbeat is from: an existing
// one after the epoch checks, a new one (epoch 0), or a copy of the static
// member that left with epoch -2 and whose instance id it takes over.
func (g *group) findConsumerMember(h *cgHeartbeat, memberID string) (m, replaced *consumerMember, isNew bool, e *cgError) {
	cg := g.cg
	join := h.epoch == epochJoin
	if h.instanceID == nil {
		m = cg.members[memberID]
		if m == nil {
			if !join {
				return nil, nil, false, cgErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.name)
			}
			return &consumerMember{id: memberID}, nil, true, nil
		}
		return m, nil, false, checkMemberEpoch(m, h)
	}
	instanceID := *h.instanceID
	old := cg.staticMember(instanceID)
	if !join {
		switch {
		case old == nil:
			return nil, nil, false, cgErr(kerr.UnknownMemberID, "Instance id %s is unknown.", instanceID)
		case old.id != memberID:
			return nil, nil, false, cgErr(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.", memberID, instanceID, old.id)
		}
		return old, nil, false, checkMemberEpoch(old, h)
	}
	if old == nil {
		if m = cg.members[memberID]; m != nil {
			return m, nil, false, nil
		}
		return &consumerMember{id: memberID}, nil, true, nil
	}
	if old.epoch != epochStaticLeave {
		return nil, nil, false, cgErr(kerr.UnreleasedInstanceID, "Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.",
			memberID, instanceID, old.id)
	}
	nm := *old
	nm.id, nm.epoch, nm.prevEpoch = memberID, 0, 0
	nm.session, nm.rebalance = nil, nil
	return &nm, old, false, nil
}

// checkMemberEpoch fences a member whose epoch is not the coordinator's: a
// newer one, or an older one unless it is the previous epoch and the member
// owns only partitions it is still assigned (the answer that bumped its
// epoch was lost).
func checkMemberEpoch(m *consumerMember, h *cgHeartbeat) *cgError {
	switch {
	case h.epoch == epochJoin:
		return nil
	case h.epoch > m.epoch:
		return cgErr(kerr.FencedMemberEpoch, "The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", h.epoch, m.epoch)
	case h.epoch < m.epoch && (h.epoch != m.prevEpoch || !ownedSubset(h.owned, m.assigned)):
		return cgErr(kerr.FencedMemberEpoch, "The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", h.epoch, m.epoch)
	}
	return nil
}

func ownedSubset(owned []kmsg.ConsumerGroupHeartbeatRequestTopic, assigned partEpochs) bool {
	if owned == nil {
		return false
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if _, ok := assigned[topicPart{t.TopicID, p}]; !ok {
				return false
			}
		}
	}
	return true
}

func sameMemberMetadata(a, b *consumerMember) bool {
	return a.instanceID == b.instanceID && a.rackID == b.rackID && a.clientID == b.clientID && a.clientHost == b.clientHost &&
		a.rebalanceTimeoutMs == b.rebalanceTimeoutMs && a.assignor == b.assignor && a.regex == b.regex && slices.Equal(a.topics, b.topics)
}

func sameKeys(a, b partEpochs) bool {
	if len(a) != len(b) {
		return false
	}
	for tp := range a {
		if _, ok := b[tp]; !ok {
			return false
		}
	}
	return true
}

func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// fenceConsumer removes a member (it left, or its session or rebalance
// timeout passed) and bumps the group epoch: the others are given its
// partitions by the next target assignment. g.mu is held.
func (g *group) fenceConsumer(m *consumerMember) {
	cg := g.cg
	cg.dropMember(m)
	cg.refreshSubscriptions(g.c.b.view.Load())
	cg.epoch++
}

// touchConsumer restarts a member's session: it is fenced if no heartbeat
// comes within group.consumer.session.timeout.ms.
func (g *group) touchConsumer(m *consumerMember) {
	timeout := g.c.b.cfg.consumerSessionTimeout()
	m.deadline = time.Now().Add(timeout)
	if m.session == nil {
		st, id := &memberTimer{}, m.id
		st.t = time.AfterFunc(timeout, func() { g.checkConsumerSession(id, st) })
		m.session = st
	}
}

// memberTimer is a member's timer. A member's state is replaced on every
// change, and the versions share its timers: a timer that fires acts only
// if the live member (in the map under its id) still has it.
type memberTimer struct{ t *time.Timer }

func stopTimer(mt *memberTimer) {
	if mt != nil {
		mt.t.Stop()
	}
}

func (g *group) checkConsumerSession(id string, st *memberTimer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.currentConsumer(id)
	if g.c.closed.Load() || cur == nil || cur.session != st {
		return
	}
	if now := time.Now(); now.Before(cur.deadline) {
		st.t.Reset(cur.deadline.Sub(now))
		return
	}
	g.c.b.log.Info("consumer group member session expired", "group", g.name, "member", cur.id)
	g.fenceConsumer(cur)
	g.persistConsumerAsync()
}

// startRebalanceTimer fences a member that has not revoked what it must
// within its rebalance timeout, unless its epoch moved on by then.
func (g *group) startRebalanceTimer(m *consumerMember) {
	stopTimer(m.rebalance)
	id, epoch := m.id, m.epoch
	rt := &memberTimer{}
	rt.t = time.AfterFunc(time.Duration(m.rebalanceTimeoutMs)*time.Millisecond, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		cur := g.currentConsumer(id)
		if g.c.closed.Load() || cur == nil || cur.rebalance != rt || cur.epoch != epoch {
			return
		}
		g.c.b.log.Info("consumer group member did not revoke its partitions in time", "group", g.name, "member", id, "epoch", epoch)
		g.fenceConsumer(cur)
		g.persistConsumerAsync()
	})
	m.rebalance = rt
}

func (g *group) currentConsumer(id string) *consumerMember {
	if g.cg == nil {
		return nil
	}
	return g.cg.members[id]
}

// stopConsumerTimers stops the timers of every member; g.mu is held.
func (g *group) stopConsumerTimers() {
	if g.cg == nil {
		return
	}
	for _, m := range g.cg.members {
		stopTimer(m.session)
		stopTimer(m.rebalance)
	}
}
