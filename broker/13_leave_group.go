package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup, key 13, versions 0-5.
//
// Removes members from a group; the rest rebalance. v0-2 name one member and
// answer in the top-level error; v3+ (KIP-345) name a batch of members, each
// by member id or by group.instance.id, and answer per member (an instance
// id held by another member id is FENCED_INSTANCE_ID). An unknown group
// answers UNKNOWN_MEMBER_ID per member, as Kafka does.

func init() { regKey(13, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := respFor[*kmsg.LeaveGroupResponse](r)
	return reply{wait: func() kmsg.Response { b.groups.leaveGroup(r, req, resp); return resp }}, nil
}

func (c *coordinator) leaveGroup(r *request, req *kmsg.LeaveGroupRequest, resp *kmsg.LeaveGroupResponse) {
	members := req.Members
	if r.version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	switch {
	case req.Group == "":
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return
	case c.coordinatorCode() != 0:
		resp.ErrorCode = c.coordinatorCode()
		return
	}
	g := c.group(req.Group, false)
	if g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.state == groupDead {
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return
		}
	}
	for _, lm := range members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = lm.MemberID, lm.InstanceID
		instanceID := ""
		if lm.InstanceID != nil {
			instanceID = *lm.InstanceID
		}
		if g == nil {
			rm.ErrorCode = kerr.UnknownMemberID.Code
		} else {
			rm.ErrorCode = g.leave(lm.MemberID, instanceID)
		}
		if r.version < 3 {
			resp.ErrorCode = rm.ErrorCode
		} else {
			resp.Members = append(resp.Members, rm)
		}
	}
}
