package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerGroupDescribe, key 69, versions 0-1 (KIP-848).
//
// State, group and assignment epochs, the assignor in use and every member:
// its epoch, subscription, current assignment (with the partitions it is
// still revoking, which it owns until then) and target assignment, topics
// named by id and name. An empty group id is INVALID_GROUP_ID; an unknown
// group, or a classic one, GROUP_ID_NOT_FOUND, as in Kafka.
//
// Version notes: v1 adds each member's type (1: consumer protocol; Skiff's
// consumer groups have no classic members).
//
// Authorized operations, when asked for, are every group operation for each
// group without an error, as Kafka answers without an authorizer
// (authorized_ops.go).

func init() { regKey(69, 0, 1, handleConsumerGroupDescribe) }

func handleConsumerGroupDescribe(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ConsumerGroupDescribeRequest)
	resp := respFor[*kmsg.ConsumerGroupDescribeResponse](r)
	// In the writer, after this connection's earlier group requests.
	return reply{wait: func() kmsg.Response {
		for _, name := range req.Groups {
			dg := b.groups.describeConsumer(name)
			if dg.ErrorCode == 0 {
				dg.AuthorizedOperations = authorizedOps(req.IncludeAuthorizedOperations, groupOps)
			}
			resp.Groups = append(resp.Groups, dg)
		}
		return resp
	}}, nil
}

func (c *coordinator) describeConsumer(name string) kmsg.ConsumerGroupDescribeResponseGroup {
	dg := kmsg.NewConsumerGroupDescribeResponseGroup()
	dg.Group = name
	switch {
	case name == "":
		dg.ErrorCode = kerr.InvalidGroupID.Code
		return dg
	case c.coordinatorCode() != 0:
		dg.ErrorCode = c.coordinatorCode()
		return dg
	}
	g := c.group(name, false)
	if g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
	}
	switch {
	case g == nil || g.state == groupDead:
		dg.ErrorCode, dg.ErrorMessage = kerr.GroupIDNotFound.Code, strp("Group "+name+" not found.")
		return dg
	case g.cg == nil:
		dg.ErrorCode, dg.ErrorMessage = kerr.GroupIDNotFound.Code, strp("Group "+name+" is not a consumer group.")
		return dg
	}
	cg := g.cg
	view := c.b.view.Load()
	dg.State = cg.stateName()
	dg.Epoch, dg.AssignmentEpoch = cg.epoch, cg.assignmentEpoch
	dg.AssignorName = cg.preferredAssignor(c.b.cfg.consumerAssignors())
	for _, m := range cg.sortedMembers() {
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.MemberEpoch = m.id, m.epoch
		dm.ClientID, dm.ClientHost = m.clientID, m.clientHost
		if m.instanceID != "" {
			dm.InstanceID = strp(m.instanceID)
		}
		if m.rackID != "" {
			dm.RackID = strp(m.rackID)
		}
		dm.SubscribedTopics = append([]string{}, m.topics...)
		dm.SubscribedTopicRegex = strp(m.regex) // "" without one, as Kafka answers
		owned := partSet{}
		for tp := range m.assigned {
			owned[tp] = struct{}{}
		}
		for tp := range m.revoking {
			owned[tp] = struct{}{}
		}
		dm.Assignment = describeAssignment(owned, view)
		dm.TargetAssignment = describeAssignment(cg.target[m.id], view)
		dm.MemberType = 1
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

// describeAssignment names partitions by topic id and name; partitions of
// topics that no longer exist are left out, as Kafka does.
func describeAssignment(ps partSet, view *topicView) kmsg.Assignment {
	a := kmsg.NewAssignment()
	a.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	byTopic := map[[16]byte][]int32{}
	for tp := range ps {
		byTopic[tp.id] = append(byTopic[tp.id], tp.p)
	}
	for id, parts := range byTopic {
		t := view.byID[id]
		if t == nil {
			continue
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		a.TopicPartitions = append(a.TopicPartitions, kmsg.AssignmentTopicPartition{TopicID: id, Topic: t.meta.Name, Partitions: parts})
	}
	sort.Slice(a.TopicPartitions, func(i, j int) bool { return a.TopicPartitions[i].Topic < a.TopicPartitions[j].Topic })
	return a
}
