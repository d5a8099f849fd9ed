package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat, key 12, versions 0-4.
//
// Keeps a member's session alive. NONE while the group is stable or
// completing a rebalance, REBALANCE_IN_PROGRESS while members must rejoin,
// and UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION or FENCED_INSTANCE_ID (v3+) for
// a member that is no longer current, as Kafka answers.

func init() { regKey(12, 0, 4, handleHeartbeat) }

func handleHeartbeat(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := respFor[*kmsg.HeartbeatResponse](r)
	// Answered in the writer, after earlier group requests of this
	// connection (a JoinGroup waiting for its rebalance) are done.
	return reply{wait: func() kmsg.Response {
		resp.ErrorCode = b.groups.heartbeat(r, req)
		return resp
	}}, nil
}

func (c *coordinator) heartbeat(r *request, req *kmsg.HeartbeatRequest) int16 {
	switch {
	case req.Group == "":
		return kerr.InvalidGroupID.Code
	case c.coordinatorCode() != 0:
		return c.coordinatorCode()
	}
	g := c.group(req.Group, false)
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	instanceID := ""
	if r.version >= 3 && req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.heartbeat(req.Generation, req.MemberID, instanceID)
}
