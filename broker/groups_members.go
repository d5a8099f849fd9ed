package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit's member checks, and the
// timers that expel members: session expiry and the pending-sync timeout.

func syncResp(ver, code int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = ver
	resp.ErrorCode = code
	return resp
}

func (g *group) syncOK(m *member, ver int16) *kmsg.SyncGroupResponse {
	resp := syncResp(ver, 0)
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.MemberAssignment = m.assignment
	return resp
}

// sync runs one SyncGroup; the answer goes to ch now or once the leader's
// assignment is stored. g.mu is held.
func (g *group) sync(ver int16, req *kmsg.SyncGroupRequest, instanceID string, ch chan kmsg.Response) {
	fail := func(code int16) { ch <- syncResp(ver, code) }
	if g.state == groupDead {
		fail(kerr.CoordinatorNotAvailable.Code)
		return
	}
	if code := g.checkMember(req.MemberID, instanceID); code != 0 {
		fail(code)
		return
	}
	if req.Generation != g.generation {
		fail(kerr.IllegalGeneration.Code)
		return
	}
	if req.ProtocolType != nil && *req.ProtocolType != g.protocolType || req.Protocol != nil && *req.Protocol != g.protocol {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case groupPreparingRebalance:
		fail(kerr.RebalanceInProgress.Code)
	case groupStable:
		g.touch(m)
		delete(g.pendingSync, m.id)
		ch <- g.syncOK(m, ver)
	case groupCompletingRebalance:
		g.touch(m)
		delete(g.pendingSync, m.id)
		m.syncCh, m.syncVer = ch, ver
		if m.id == g.leader {
			g.assign(req.GroupAssignment)
		}
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

// assign takes the leader's assignment: it is stored through Raft before any
// member hears of it, so a generation that members act on survives a restart.
// Members the leader left out get an empty assignment.
func (g *group) assign(assignments []kmsg.SyncGroupRequestGroupAssignment) {
	byMember := make(map[string][]byte, len(assignments))
	for _, a := range assignments {
		byMember[a.MemberID] = a.MemberAssignment
	}
	for _, m := range g.members {
		m.assignment = byMember[m.id]
	}
	if err := g.persist().Wait(); err != nil {
		g.c.b.log.Warn("store consumer group assignment", "group", g.name, "err", err)
		g.failPendingSyncs(errCode(err))
		g.prepareRebalance()
		return
	}
	g.transition(groupStable)
	for _, m := range g.members {
		if m.syncCh != nil {
			m.syncCh <- g.syncOK(m, m.syncVer)
			m.syncCh = nil
		}
	}
}

// failPendingSyncs answers every waiting SyncGroup with code and drops the
// assignment of the generation that will not be.
func (g *group) failPendingSyncs(code int16) {
	for _, m := range g.members {
		m.assignment = nil
		if m.syncCh != nil {
			m.syncCh <- syncResp(m.syncVer, code)
			m.syncCh = nil
		}
	}
}

// startSyncTimer gives the members of a new generation until the rebalance
// timeout to send SyncGroup; those that do not are removed and the group
// rebalances again (Kafka 3.2+).
func (g *group) startSyncTimer() {
	seq := g.resetTimer()
	gen := g.generation
	g.timer = time.AfterFunc(g.maxRebalanceTimeout(), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if seq != g.timerSeq || gen != g.generation || g.c.closed.Load() ||
			(g.state != groupCompletingRebalance && g.state != groupStable) || len(g.pendingSync) == 0 {
			return
		}
		for id := range g.pendingSync {
			if m := g.members[id]; m != nil {
				g.c.b.log.Info("member did not sync in time", "group", g.name, "member", id)
				g.removeMember(m)
			}
		}
		g.prepareRebalance()
	})
}

// heartbeat returns Kafka's answer to a Heartbeat. g.mu is held.
func (g *group) heartbeat(gen int32, memberID, instanceID string) int16 {
	if g.state == groupDead {
		return kerr.CoordinatorNotAvailable.Code
	}
	if code := g.checkMember(memberID, instanceID); code != 0 {
		return code
	}
	if gen != g.generation {
		return kerr.IllegalGeneration.Code
	}
	g.touch(g.members[memberID])
	if g.state == groupPreparingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// leave removes one member (LeaveGroup): by instance id for a static member,
// else by member id. g.mu is held.
func (g *group) leave(memberID, instanceID string) int16 {
	if instanceID != "" {
		id, ok := g.static[instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case memberID != "" && id != memberID:
			return kerr.FencedInstanceID.Code
		}
		memberID = id
	} else if t, ok := g.pending[memberID]; ok {
		t.Stop()
		delete(g.pending, memberID)
		g.tryCompleteJoin()
		return 0
	}
	m := g.members[memberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	g.removeMemberAndRebalance(m)
	return 0
}

// commitCode checks an OffsetCommit against the group, as Kafka 4 does: a
// commit with a negative generation and no member is an admin or
// manual-assignment commit, allowed only while the group has no members.
// g.mu is held.
func (g *group) commitCode(gen int32, memberID, instanceID string) int16 {
	switch {
	case g.state == groupDead:
		return kerr.CoordinatorNotAvailable.Code
	case gen < 0 && g.state == groupEmpty:
		return 0
	case gen >= 0 || memberID != "" || instanceID != "":
		if code := g.checkMember(memberID, instanceID); code != 0 {
			return code
		}
		if gen != g.generation {
			return kerr.IllegalGeneration.Code
		}
	default:
		return kerr.UnknownMemberID.Code
	}
	if g.state == groupCompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	if m := g.members[memberID]; m != nil {
		g.touch(m)
	}
	return 0
}

// removeMember takes a member out of the group, answering any request it
// has waiting. g.mu is held.
func (g *group) removeMember(m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.joinCh != nil {
		m.joinCh <- joinResp(m.joinVer, kerr.UnknownMemberID.Code, m.id)
		m.joinCh = nil
	}
	if m.syncCh != nil {
		m.syncCh <- syncResp(m.syncVer, kerr.UnknownMemberID.Code)
		m.syncCh = nil
	}
	delete(g.members, m.id)
	delete(g.pendingSync, m.id)
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
		if ms := g.sortedMembers(); len(ms) > 0 {
			g.leader = ms[0].id
		}
	}
}

// removeMemberAndRebalance removes a member that left or expired; the others
// rebalance.
func (g *group) removeMemberAndRebalance(m *member) {
	g.removeMember(m)
	switch g.state {
	case groupStable, groupCompletingRebalance:
		g.prepareRebalance()
	case groupPreparingRebalance:
		g.tryCompleteJoin()
	}
}

// startSession arms a member's session timer. A heartbeat only moves the
// deadline; the timer re-arms itself until the deadline passes.
func (g *group) startSession(m *member) {
	g.touch(m)
	m.timer = time.AfterFunc(m.session, func() { g.checkSession(m) })
}

func (g *group) touch(m *member) { m.deadline = time.Now().Add(m.session) }

func (g *group) checkSession(m *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.c.closed.Load() || g.members[m.id] != m {
		return
	}
	now := time.Now()
	switch {
	case m.joinCh != nil || m.syncCh != nil:
		// A member waiting on us is alive; the rebalance and sync
		// timeouts bound the wait.
		m.timer.Reset(m.session)
	case now.Before(m.deadline):
		m.timer.Reset(m.deadline.Sub(now))
	default:
		g.c.b.log.Info("consumer group member session expired", "group", g.name, "member", m.id)
		g.removeMemberAndRebalance(m)
	}
}
