package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups, key 42, versions 0-2.
//
// Deletes empty groups with their committed offsets, through the offsets
// Raft group, before answering. A group with members (of either protocol)
// is NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND, as in Kafka.

func init() { regKey(42, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	resp := respFor[*kmsg.DeleteGroupsResponse](r)
	return reply{wait: func() kmsg.Response {
		for _, name := range req.Groups {
			dg := kmsg.NewDeleteGroupsResponseGroup()
			dg.Group = name
			dg.ErrorCode = b.groups.deleteGroup(name)
			resp.Groups = append(resp.Groups, dg)
		}
		return resp
	}}, nil
}

func (c *coordinator) deleteGroup(name string) int16 {
	if name == "" {
		return kerr.InvalidGroupID.Code
	}
	if code := c.coordinatorCode(); code != 0 {
		return code
	}
	g := c.group(name, false)
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == groupDead:
		return kerr.GroupIDNotFound.Code
	case g.cg != nil && len(g.cg.members) > 0, g.cg == nil && g.state != groupEmpty:
		return kerr.NonEmptyGroup.Code
	}
	if err := c.store.DeleteGroup(name).Wait(); err != nil {
		return errCode(err)
	}
	c.remove(g)
	return 0
}
