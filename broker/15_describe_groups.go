package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups, key 15, versions 0-6.
//
// State, protocol type, selected protocol and members of each group. As in
// Kafka, the protocol is named, and members carry their metadata and
// assignment, only while the group is Stable (in CompletingRebalance the
// protocol is chosen but reported empty). An unknown group is state Dead
// with no error before v6 and GROUP_ID_NOT_FOUND from v6 (KIP-1043); so is
// a consumer-protocol (KIP-848) group, as Kafka answers:
// ConsumerGroupDescribe describes those.
//
// Version notes: v3+ may ask for authorized operations, answered for each
// group without an error as Kafka does without an authorizer: every group
// operation (authorized_ops.go).

func init() { regKey(15, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := respFor[*kmsg.DescribeGroupsResponse](r)
	// In the writer, after this connection's earlier group requests.
	return reply{wait: func() kmsg.Response {
		for _, name := range req.Groups {
			dg := b.groups.describe(name, r.version)
			if r.version >= 3 && dg.ErrorCode == 0 {
				dg.AuthorizedOperations = authorizedOps(req.IncludeAuthorizedOperations, groupOps)
			}
			resp.Groups = append(resp.Groups, dg)
		}
		return resp
	}}, nil
}

func (c *coordinator) describe(name string, version int16) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = name
	dg.AuthorizedOperations = opsNotProvided
	if code := c.coordinatorCode(); code != 0 {
		dg.ErrorCode = code
		return dg
	}
	g := c.group(name, false)
	if g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
	}
	if g == nil || g.state == groupDead || g.cg != nil {
		dg.State = groupDead.String()
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			dg.ErrorMessage = strp("group " + name + " not found")
			if g != nil && g.cg != nil {
				dg.ErrorMessage = strp("Group " + name + " is not a classic group.")
			}
		}
		return dg
	}
	dg.State = g.state.String()
	dg.ProtocolType = g.protocolType
	if g.state == groupStable {
		dg.Protocol = g.protocol
	}
	for _, m := range g.sortedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.ClientID, dm.ClientHost = m.id, m.clientID, m.clientHost
		if m.instanceID != "" {
			dm.InstanceID = strp(m.instanceID)
		}
		if g.state == groupStable {
			dm.ProtocolMetadata, dm.MemberAssignment = m.metadata(g.protocol), m.assignment
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}
