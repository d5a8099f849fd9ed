package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup and the rebalance, as Kafka's GroupCoordinator runs them.

type joinArgs struct {
	ver          int16
	memberID     string
	instanceID   string
	clientID     string
	clientHost   string
	session      time.Duration
	rebalance    time.Duration
	protocolType string
	protocols    []kmsg.JoinGroupRequestProtocol
	ch           chan kmsg.Response
}

func joinResp(ver, code int16, memberID string) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = ver
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = memberID
	return resp
}

func (a *joinArgs) fail(code int16) { a.ch <- joinResp(a.ver, code, a.memberID) }

// join runs one JoinGroup; the answer goes to a.ch now or when the
// rebalance completes. g.mu is held.
func (g *group) join(a *joinArgs) {
	if g.cg != nil && !g.leaveConsumerProtocol() {
		a.fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	switch {
	case g.state == groupDead:
		a.fail(kerr.CoordinatorNotAvailable.Code)
	case !g.supportsProtocols(a.protocolType, a.protocols):
		a.fail(kerr.InconsistentGroupProtocol.Code)
	case a.memberID == "":
		g.joinUnknown(a)
	default:
		g.joinKnown(a)
	}
}

// supportsProtocols: an empty group takes any protocol type; otherwise the
// type must match and one protocol must be supported by every member.
func (g *group) supportsProtocols(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		if g.allSupport(p.Name) {
			return true
		}
	}
	return false
}

func (g *group) allSupport(protocol string) bool {
	for _, m := range g.members {
		if !m.hasProtocol(protocol) {
			return false
		}
	}
	return true
}

func (m *member) hasProtocol(name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (g *group) joinUnknown(a *joinArgs) {
	if a.instanceID != "" {
		newID := newMemberID(a.instanceID)
		if old := g.members[g.static[a.instanceID]]; old != nil {
			g.replaceStatic(old, newID, a)
			return
		}
		g.addMember(newID, a) // static members skip MEMBER_ID_REQUIRED
		return
	}
	newID := newMemberID(a.clientID)
	if a.ver >= 4 {
		// KIP-394: hand out the id and wait for the member to rejoin with
		// it, so a client that never does leaves no member behind.
		g.pending[newID] = time.AfterFunc(a.session, func() { g.expirePending(newID) })
		resp := joinResp(a.ver, kerr.MemberIDRequired.Code, newID)
		a.ch <- resp
		return
	}
	g.addMember(newID, a)
}

func (g *group) joinKnown(a *joinArgs) {
	if t, ok := g.pending[a.memberID]; ok {
		t.Stop()
		delete(g.pending, a.memberID)
		g.addMember(a.memberID, a)
		return
	}
	if code := g.checkMember(a.memberID, a.instanceID); code != 0 {
		a.fail(code)
		return
	}
	m := g.members[a.memberID]
	switch g.state {
	case groupPreparingRebalance:
		g.updateMember(m, a)
	case groupCompletingRebalance:
		if m.sameProtocols(a.protocols) {
			// The member lost our answer: give it again.
			g.replyJoin(m, a.ver, a.ch)
		} else {
			g.updateMember(m, a)
		}
	case groupStable:
		if m.id == g.leader || !m.sameProtocols(a.protocols) {
			g.updateMember(m, a)
		} else {
			g.replyJoin(m, a.ver, a.ch)
		}
	default:
		a.fail(kerr.UnknownMemberID.Code)
	}
}

func (m *member) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i, p := range ps {
		if p.Name != m.protocols[i].Name || string(p.Metadata) != string(m.protocols[i].Metadata) {
			return false
		}
	}
	return true
}

// addMember adds a member that awaits the rebalance it starts or joins.
func (g *group) addMember(id string, a *joinArgs) {
	if len(g.members) == 0 {
		g.protocolType = a.protocolType
	}
	g.seq++
	m := &member{id: id, instanceID: a.instanceID, session: a.session, seq: g.seq}
	g.members[id] = m
	if a.instanceID != "" {
		g.static[a.instanceID] = id
	}
	if g.leader == "" {
		g.leader = id
	}
	g.startSession(m)
	if g.state == groupPreparingRebalance && g.initialDelay {
		g.newMember = true
	}
	g.updateMember(m, a)
}

// updateMember records a join and moves the rebalance along.
func (g *group) updateMember(m *member, a *joinArgs) {
	m.clientID, m.clientHost = a.clientID, a.clientHost
	m.session, m.rebalance = a.session, a.rebalance
	m.protocolType, m.protocols = a.protocolType, a.protocols
	if m.joinCh != nil && m.joinCh != a.ch {
		// A second join of the same member replaces the first, as in Kafka.
		m.joinCh <- joinResp(m.joinVer, kerr.RebalanceInProgress.Code, m.id)
	}
	m.joinCh, m.joinVer = a.ch, a.ver
	if g.state == groupPreparingRebalance {
		g.tryCompleteJoin()
		return
	}
	g.prepareRebalance()
}

// replaceStatic gives a static member's instance id to a new member id
// (KIP-345): the old id is fenced. A stable group whose protocol stays is not
// rebalanced: the member gets the current generation back.
func (g *group) replaceStatic(old *member, newID string, a *joinArgs) {
	prevLeader := g.leader
	if old.joinCh != nil {
		old.joinCh <- joinResp(old.joinVer, kerr.FencedInstanceID.Code, old.id)
		old.joinCh = nil
	}
	if old.syncCh != nil {
		old.syncCh <- syncResp(old.syncVer, kerr.FencedInstanceID.Code)
		old.syncCh = nil
	}
	if old.timer != nil {
		old.timer.Stop()
	}
	delete(g.members, old.id)
	if g.pendingSync[old.id] {
		delete(g.pendingSync, old.id)
		g.pendingSync[newID] = true
	}
	m := &member{id: newID, instanceID: a.instanceID, session: a.session, seq: old.seq,
		assignment: old.assignment, protocols: old.protocols}
	g.members[newID] = m
	g.static[a.instanceID] = newID
	if g.leader == old.id {
		g.leader = newID
	}
	g.startSession(m)
	if g.state != groupStable {
		g.updateMember(m, a)
		return
	}
	oldProtocols := m.protocols
	m.protocols = a.protocols
	if g.selectProtocol() != g.protocol {
		m.protocols = oldProtocols
		g.updateMember(m, a)
		return
	}
	m.clientID, m.clientHost, m.session, m.rebalance = a.clientID, a.clientHost, a.session, a.rebalance
	m.protocolType = a.protocolType
	if err := g.persist().Wait(); err != nil {
		a.fail(errCode(err))
		return
	}
	resp := joinResp(a.ver, 0, newID)
	g.fillJoin(resp)
	resp.LeaderID = prevLeader // so a replaced leader does not assign in a stable group
	if a.ver >= 9 && g.leader == newID {
		// KIP-814: the leader learns the members but keeps the assignment.
		resp.LeaderID, resp.SkipAssignment, resp.Members = newID, true, g.memberList()
	}
	a.ch <- resp
}

// prepareRebalance starts a rebalance: members have until the largest
// rebalance timeout to rejoin. An empty group first waits the initial
// rebalance delay (extended while new members keep arriving, up to the
// rebalance timeout) so a starting fleet of consumers is one rebalance.
func (g *group) prepareRebalance() {
	if g.state == groupCompletingRebalance {
		g.failPendingSyncs(kerr.RebalanceInProgress.Code)
	}
	wasEmpty := g.state == groupEmpty
	g.transition(groupPreparingRebalance)
	timeout := g.maxRebalanceTimeout()
	delay := g.c.b.cfg.GroupInitialRebalanceDelay
	if wasEmpty && delay > 0 {
		g.initialDelay, g.newMember = true, false
		g.startInitialDelay(delay, max(timeout-delay, 0))
		return
	}
	g.initialDelay = false
	seq := g.resetTimer()
	g.timer = time.AfterFunc(timeout, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if seq == g.timerSeq && !g.c.closed.Load() && g.state == groupPreparingRebalance {
			g.completeJoin()
		}
	})
	g.tryCompleteJoin()
}

func (g *group) startInitialDelay(delay, remaining time.Duration) {
	seq := g.resetTimer()
	g.timer = time.AfterFunc(delay, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if seq != g.timerSeq || g.c.closed.Load() || g.state != groupPreparingRebalance {
			return
		}
		if g.newMember && remaining > 0 {
			g.newMember = false
			d := min(g.c.b.cfg.GroupInitialRebalanceDelay, remaining)
			g.startInitialDelay(d, remaining-d)
			return
		}
		g.completeJoin()
	})
}

// resetTimer invalidates the group's running timer and returns the sequence
// number the next one checks.
func (g *group) resetTimer() uint64 {
	g.timerSeq++
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	return g.timerSeq
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalance)
	}
	return d
}

// tryCompleteJoin completes the rebalance early once every member has
// rejoined and no KIP-394 member id is outstanding.
func (g *group) tryCompleteJoin() {
	if g.state != groupPreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	g.completeJoin()
}

// completeJoin ends the join phase: members that did not rejoin are removed,
// the generation advances and every member gets its answer; the leader gets
// the member list with each member's metadata for the selected protocol.
func (g *group) completeJoin() {
	g.resetTimer()
	g.initialDelay = false
	for _, m := range g.members {
		if m.joinCh == nil {
			g.removeMember(m)
		}
	}
	if g.state == groupDead {
		return
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.leader = ""
		g.transition(groupEmpty)
		g.persistAsync()
		return
	}
	g.protocol = g.selectProtocol()
	if g.members[g.leader] == nil {
		g.leader = g.sortedMembers()[0].id
	}
	g.transition(groupCompletingRebalance)
	clear(g.pendingSync)
	for _, m := range g.members {
		g.pendingSync[m.id] = true
		g.touch(m)
		g.replyJoin(m, m.joinVer, m.joinCh)
		m.joinCh = nil
	}
	g.startSyncTimer()
}

// replyJoin answers a member's join with the current generation.
func (g *group) replyJoin(m *member, ver int16, ch chan kmsg.Response) {
	resp := joinResp(ver, 0, m.id)
	g.fillJoin(resp)
	if m.id == g.leader {
		resp.Members = g.memberList()
	}
	ch <- resp
}

func (g *group) fillJoin(resp *kmsg.JoinGroupResponse) {
	pt, p := g.protocolType, g.protocol
	resp.Generation = g.generation
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.LeaderID = g.leader
}

func (g *group) memberList() []kmsg.JoinGroupResponseMember {
	var out []kmsg.JoinGroupResponseMember
	for _, m := range g.sortedMembers() {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID, jm.ProtocolMetadata = m.id, m.metadata(g.protocol)
		if m.instanceID != "" {
			jm.InstanceID = &m.instanceID
		}
		out = append(out, jm)
	}
	return out
}

// selectProtocol picks, among the protocols every member supports, the one
// most members prefer: each member votes for the first of its protocols (in
// its order of preference) that all support, as Kafka does. Ties go to the
// protocol the longest-standing member prefers.
func (g *group) selectProtocol() string {
	ms := g.sortedMembers()
	if len(ms) == 0 {
		return ""
	}
	var candidates []string
	for _, p := range ms[0].protocols {
		if g.allSupport(p.Name) {
			candidates = append(candidates, p.Name)
		}
	}
	votes := map[string]int{}
	for _, m := range ms {
		for _, p := range m.protocols {
			if contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, c := range candidates {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// expirePending forgets a KIP-394 member id that was never used to join.
func (g *group) expirePending(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.pending[id]; !ok || g.c.closed.Load() {
		return
	}
	delete(g.pending, id)
	g.tryCompleteJoin()
}
