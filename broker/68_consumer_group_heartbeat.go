package broker

import (
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerGroupHeartbeat, key 68, versions 0-1 (KIP-848).
//
// The one request of the consumer group protocol: a member joins with epoch
// 0 and its subscription, heartbeats with its epoch (and what it owns, when
// that changed) every heartbeat interval, and leaves with epoch -1 (-2: a
// static member that will be back). The coordinator answers with the
// member's epoch and, when it changed, its assignment; see consumer_group.go
// for the state machine. Changes are stored through Raft before the answer.
//
// Version notes:
//   - v0: a member joining with an empty member id is given one.
//   - v1 (KIP-1082): the client generates its member id, which is
//     required; SubscribedTopicRegex (RE2/J, whole-name match) is served.
//
// # Notes
//   - Request checks as Kafka's GroupCoordinatorService: empty group,
//     member (where required), instance or rack id, a join without rebalance
//     timeout, subscription, or with owned partitions, and an epoch below -2
//     are INVALID_REQUEST; a ServerAssignor not in group.consumer.assignors
//     is UNSUPPORTED_ASSIGNOR.
//   - A classic group with members is not converted (Kafka's online
//     upgrade): a join answers GROUP_ID_NOT_FOUND, as Kafka does with
//     group.consumer.migration.policy=disabled. An empty classic group (one
//     that only has committed offsets, say) becomes a consumer group.

func init() { regKey(68, 0, 1, handleConsumerGroupHeartbeat) }

func handleConsumerGroupHeartbeat(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	// In the writer: after this connection's earlier group requests, and
	// the wait for Raft stays off the read path.
	return reply{wait: func() kmsg.Response { return b.groups.consumerGroupHeartbeat(r, req) }}, nil
}

func (c *coordinator) consumerGroupHeartbeat(r *request, req *kmsg.ConsumerGroupHeartbeatRequest) kmsg.Response {
	resp := respFor[*kmsg.ConsumerGroupHeartbeatResponse](r)
	fail := func(e *cgError) kmsg.Response {
		resp.ErrorCode, resp.ErrorMessage = e.err.Code, strp(e.msg)
		return resp
	}
	if code := c.coordinatorCode(); code != 0 {
		resp.ErrorCode = code
		return resp
	}
	if e := c.checkHeartbeat(r.version, req); e != nil {
		return fail(e)
	}
	h := &cgHeartbeat{
		memberID: req.MemberID, epoch: req.MemberEpoch, instanceID: req.InstanceID, rackID: req.RackID,
		rebalanceTimeout: req.RebalanceTimeoutMillis, topics: req.SubscribedTopicNames, regex: req.SubscribedTopicRegex,
		assignor: req.ServerAssignor, owned: req.Topics, clientID: r.clientID, host: clientHost(r),
	}
	g, created, e := c.consumerGroupFor(req.Group, req.MemberEpoch == epochJoin)
	if e != nil {
		return fail(e)
	}
	var res *heartbeatResult
	if req.MemberEpoch == epochLeave || req.MemberEpoch == epochStaticLeave {
		res, e = g.consumerLeave(h)
	} else {
		res, e = g.consumerHeartbeat(h)
	}
	if e != nil {
		if len(g.cg.members) == 0 && g.cg.epoch == 0 {
			// A join that failed leaves no group behind (and an empty
			// classic group stays classic).
			if created {
				c.remove(g)
			} else {
				g.cg = nil
			}
		}
		g.mu.Unlock()
		return fail(e)
	}
	var wait func() error
	if res.changed {
		f := g.persistConsumer()
		wait = f.Wait
	}
	g.mu.Unlock()
	if wait != nil {
		if err := wait(); err != nil {
			resp.ErrorCode = errCode(err)
			return resp
		}
	}
	resp.MemberID = &res.memberID
	resp.MemberEpoch = res.epoch
	if res.epoch >= 0 {
		resp.HeartbeatIntervalMillis = int32(c.b.cfg.consumerHeartbeatInterval().Milliseconds())
	}
	if res.sendAssignment {
		resp.Assignment = heartbeatAssignment(res.assignment)
	}
	return resp
}

// consumerGroupFor returns the consumer group of a heartbeat with its lock
// held, creating it for a join (also from an empty classic group, whose
// committed offsets it keeps).
func (c *coordinator) consumerGroupFor(name string, join bool) (g *group, created bool, e *cgError) {
	for {
		g = c.group(name, false)
		if g == nil {
			if !join {
				return nil, false, cgErr(kerr.GroupIDNotFound, "Consumer group %s not found.", name)
			}
			c.mu.Lock()
			if c.groups[name] == nil {
				g = c.newGroup(name)
				c.groups[name] = g
				created = true
			}
			c.mu.Unlock()
			if !created {
				continue
			}
		}
		g.mu.Lock()
		if g.state == groupDead { // deleted meanwhile
			g.mu.Unlock()
			created = false
			continue
		}
		break
	}
	if g.cg != nil {
		return g, created, nil
	}
	if !join || !g.classicEmpty() {
		g.mu.Unlock()
		return nil, false, cgErr(kerr.GroupIDNotFound, "Group %s is not a consumer group.", name)
	}
	g.stopTimers()
	g.cg = newConsumerGroup()
	g.protocolType, g.protocol, g.leader = "consumer", "", ""
	return g, created, nil
}

// classicEmpty reports a classic group without members or member ids handed
// out; g.mu is held.
func (g *group) classicEmpty() bool {
	return g.state == groupEmpty && len(g.members) == 0 && len(g.pending) == 0
}

// checkHeartbeat applies Kafka's request checks.
func (c *coordinator) checkHeartbeat(ver int16, req *kmsg.ConsumerGroupHeartbeatRequest) *cgError {
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	invalid := func(msg string) *cgError { return cgErr(kerr.InvalidRequest, "%s", msg) }
	switch {
	case (ver >= 1 || req.MemberEpoch > 0 || req.MemberEpoch == epochLeave) && blank(req.MemberID):
		return invalid("MemberId can't be empty.")
	case blank(req.Group):
		return invalid("GroupId can't be empty.")
	case req.InstanceID != nil && blank(*req.InstanceID):
		return invalid("InstanceId can't be empty.")
	case req.RackID != nil && blank(*req.RackID):
		return invalid("RackId can't be empty.")
	}
	switch {
	case req.MemberEpoch == epochJoin:
		switch {
		case req.RebalanceTimeoutMillis == -1:
			return invalid("RebalanceTimeoutMs must be provided in first request.")
		case req.Topics == nil || len(req.Topics) > 0:
			return invalid("TopicPartitions must be empty when (re-)joining.")
		case req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
			return invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
		}
	case req.MemberEpoch == epochStaticLeave:
		if req.InstanceID == nil {
			return invalid("InstanceId can't be null.")
		}
	case req.MemberEpoch < epochStaticLeave:
		return invalid("MemberEpoch is invalid.")
	}
	if a := req.ServerAssignor; a != nil && !slices.Contains(c.b.cfg.consumerAssignors(), *a) {
		return cgErr(kerr.UnsupportedAssignor, "ServerAssignor %s is not supported. Supported assignors: %s.", *a,
			strings.Join(c.b.cfg.consumerAssignors(), ", "))
	}
	return nil
}

// heartbeatAssignment groups partitions by topic id, in order.
func heartbeatAssignment(tps []topicPart) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
	a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	sort.Slice(tps, func(i, j int) bool { return tps[i].less(tps[j]) })
	for _, tp := range tps {
		if n := len(a.Topics); n == 0 || a.Topics[n-1].TopicID != tp.id {
			t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			t.TopicID = tp.id
			a.Topics = append(a.Topics, t)
		}
		last := &a.Topics[len(a.Topics)-1]
		last.Partitions = append(last.Partitions, tp.p)
	}
	return &a
}
