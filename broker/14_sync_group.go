package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup, key 14, versions 0-5.
//
// After a rebalance the leader sends the assignment of every member and the
// followers send none; each waits for its own. The leader's assignment is
// stored through Raft (with the members of the generation) before anyone is
// answered. A member of a stable group gets its current assignment back.
//
// Version notes: v3+ carries group.instance.id (fencing); v5+ carries the
// protocol type and name, which must match the group's
// (INCONSISTENT_GROUP_PROTOCOL) and are echoed back.

func init() { regKey(14, 0, 5, handleSyncGroup) }

func handleSyncGroup(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	return reply{wait: func() kmsg.Response { return b.groups.syncGroup(r, req) }}, nil
}

func (c *coordinator) syncGroup(r *request, req *kmsg.SyncGroupRequest) kmsg.Response {
	switch {
	case req.Group == "":
		return syncResp(r.version, kerr.InvalidGroupID.Code)
	case c.coordinatorCode() != 0:
		return syncResp(r.version, c.coordinatorCode())
	}
	g := c.group(req.Group, false)
	if g == nil {
		return syncResp(r.version, kerr.UnknownMemberID.Code)
	}
	instanceID := ""
	if r.version >= 3 && req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	ch := make(chan kmsg.Response, 1)
	g.mu.Lock()
	g.sync(r.version, req, instanceID, ch)
	g.mu.Unlock()
	return c.await(ch, func() kmsg.Response { return syncResp(r.version, kerr.NotCoordinator.Code) })
}
