package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup, key 11, versions 0-9.
//
// A member joins (or rejoins) a classic group and waits until the rebalance
// completes: every known member has rejoined, or the largest rebalance
// timeout has passed, or, for a group that was empty, the initial rebalance
// delay (Config.GroupInitialRebalanceDelay) has passed with no new member
// arriving. The leader gets every member's metadata for the selected
// protocol; the broker never looks inside it (any assignor works). See
// groups.go for the state machine.
//
// Version notes:
//   - v0 has no rebalance timeout: the session timeout is used.
//   - v4+ (KIP-394): a dynamic member without a member id gets
//     MEMBER_ID_REQUIRED with its new id and must join again with it.
//   - v5+ (KIP-345): group.instance.id makes a static member; a rejoin with
//     a known instance id replaces (fences) the old member id, without a
//     rebalance when the group is stable and its protocol would not change.
//   - v7+ carries the protocol type and name in the response; v9 (KIP-814)
//     tells a rejoining static leader to skip the assignment.
//
// # Notes
//   - The wait happens in the connection's writer, so a connection's group
//     requests are handled in order, as Kafka handles them.
//   - Session timeouts outside [GroupMinSessionTimeout,
//     GroupMaxSessionTimeout] are INVALID_SESSION_TIMEOUT.
//   - A consumer-protocol (KIP-848) group with members answers
//     INCONSISTENT_GROUP_PROTOCOL (Kafka does with its migration policy
//     disabled); an empty one becomes a classic group, keeping its offsets.

func init() { regKey(11, 0, 9, handleJoinGroup) }

func handleJoinGroup(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	return reply{wait: func() kmsg.Response { return b.groups.joinGroup(r, req) }}, nil
}

func (c *coordinator) joinGroup(r *request, req *kmsg.JoinGroupRequest) kmsg.Response {
	a := &joinArgs{
		ver: r.version, memberID: req.MemberID, clientID: r.clientID, clientHost: clientHost(r),
		session: ms(req.SessionTimeoutMillis), rebalance: ms(req.RebalanceTimeoutMillis),
		protocolType: req.ProtocolType, protocols: req.Protocols,
		ch: make(chan kmsg.Response, 1),
	}
	if r.version == 0 {
		a.rebalance = a.session
	}
	if r.version >= 5 && req.InstanceID != nil {
		a.instanceID = *req.InstanceID
	}
	minS, maxS := c.sessionBounds()
	switch {
	case req.Group == "":
		return joinResp(r.version, kerr.InvalidGroupID.Code, req.MemberID)
	case c.coordinatorCode() != 0:
		return joinResp(r.version, c.coordinatorCode(), req.MemberID)
	case a.session < minS || a.session > maxS:
		return joinResp(r.version, kerr.InvalidSessionTimeout.Code, req.MemberID)
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		return joinResp(r.version, kerr.InconsistentGroupProtocol.Code, req.MemberID)
	}
	g := c.group(req.Group, req.MemberID == "")
	if g == nil {
		return joinResp(r.version, kerr.UnknownMemberID.Code, req.MemberID)
	}
	g.mu.Lock()
	g.join(a)
	g.mu.Unlock()
	return c.await(a.ch, func() kmsg.Response {
		return joinResp(r.version, kerr.NotCoordinator.Code, req.MemberID)
	})
}

// sessionBounds returns group.min/max.session.timeout.ms (an unset maximum
// is Kafka's 30 minutes).
func (c *coordinator) sessionBounds() (time.Duration, time.Duration) {
	maxS := c.b.cfg.GroupMaxSessionTimeout
	if maxS <= 0 {
		maxS = 30 * time.Minute
	}
	return c.b.cfg.GroupMinSessionTimeout, maxS
}
