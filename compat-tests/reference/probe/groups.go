package probe

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffstream/skiff/compat-tests/reference"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroup records a DescribeGroups answer for group under prefix what.
func (b *Broker) DescribeGroup(ctx context.Context, t testing.TB, group, what string, o reference.Observations) {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Groups) != 1 {
		t.Fatalf("%s: DescribeGroups %s: %v", b.Name, group, err)
	}
	g := resp.Groups[0]
	o.Set(what+": describe error", ErrName(g.ErrorCode))
	o.Set(what+": state", g.State)
	o.Set(what+": protocol type", g.ProtocolType)
	o.Set(what+": protocol", g.Protocol)
	o.Set(what+": members", len(g.Members))
	for _, m := range g.Members {
		o.Set(what+": member client ID", m.ClientID)
		o.Set(what+": member client host", m.ClientHost)
		o.Set(what+": member has metadata", len(m.ProtocolMetadata) > 0)
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			o.Set(what+": member assignment", "undecodable: "+err.Error())
			continue
		}
		var parts []string
		for _, at := range a.Topics {
			parts = append(parts, fmt.Sprintf("%s%v", at.Topic, at.Partitions))
		}
		o.Set(what+": member assignment", parts)
	}
}

// Lag records the committed offsets and lag of group on topic, as
// kafka-consumer-groups --describe shows them: from OffsetFetch and the end
// offsets.
func (b *Broker) Lag(ctx context.Context, t testing.TB, group, topic, what string, o reference.Observations) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	// v8+: the multi-group form; v10 names topics by id.
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.TopicID, gt.Partitions = topic, b.TopicMeta(ctx, t, topic).TopicID, []int32{0, 1, 2}
	rg.Topics = append(rg.Topics, gt)
	req.Groups = append(req.Groups, rg)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		t.Fatalf("%s: OffsetFetch %s: %v", b.Name, group, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		o.Set(what+": offset fetch", ErrOf(err))
		return
	}
	for _, g := range resp.Groups { // v8+
		o.Set(what+": offset fetch group error", ErrName(g.ErrorCode))
		for _, rt := range g.Topics {
			for _, p := range rt.Partitions {
				end := b.ListOffset(ctx, t, topic, p.Partition, -1, -1)
				o.Set(fmt.Sprintf("%s: partition %d", what, p.Partition), fmt.Sprintf("%s, committed %d (leader epoch %d), end %s",
					ErrName(p.ErrorCode), p.Offset, p.LeaderEpoch, end))
			}
		}
	}
	for _, rt := range resp.Topics { // before v8
		for _, p := range rt.Partitions {
			end := b.ListOffset(ctx, t, topic, p.Partition, -1, -1)
			o.Set(fmt.Sprintf("%s: partition %d", what, p.Partition), fmt.Sprintf("%s, committed %d (leader epoch %d), end %s",
				ErrName(p.ErrorCode), p.Offset, p.LeaderEpoch, end))
		}
	}
}

func (b *Broker) ListGroup(ctx context.Context, t testing.TB, group string, o reference.Observations) {
	t.Helper()
	resp, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, b.Cl)
	if err != nil {
		t.Fatalf("%s: ListGroups: %v", b.Name, err)
	}
	o.Set("list groups: error", ErrName(resp.ErrorCode))
	for _, g := range resp.Groups {
		if g.Group == group {
			o.Set("list groups: entry", fmt.Sprintf("protocol type %q, state %q, type %q", g.ProtocolType, g.GroupState, g.GroupType))
		}
	}
}

func (b *Broker) DeleteGroup(ctx context.Context, t testing.TB, group string) string {
	t.Helper()
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Groups) != 1 {
		return ErrOf(err)
	}
	return ErrName(resp.Groups[0].ErrorCode)
}

// Joined is a JoinGroup answer.
type Joined struct {
	Err        string
	MemberID   string
	Generation int32
	Leader     bool // this member leads the group
	Protocol   string
	Members    int // members listed (only the leader gets them)
}

func (j Joined) String() string {
	if j.Err != "NONE" {
		return fmt.Sprintf("%s (member ID given: %v)", j.Err, j.MemberID != "")
	}
	return fmt.Sprintf("NONE, generation %d, leader %v, protocol %q, %d members", j.Generation, j.Leader, j.Protocol, j.Members)
}

// JoinGroup joins group as memberID ("" for a new member) with one "range"
// protocol subscribing to topic.
func (b *Broker) JoinGroup(ctx context.Context, t testing.TB, group, memberID, protocolType, topic string, sessionMillis int32) Joined {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = group, memberID, protocolType
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = sessionMillis, 10000
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return Joined{Err: ErrOf(err)}
	}
	j := Joined{Err: ErrName(resp.ErrorCode), MemberID: resp.MemberID, Generation: resp.Generation, Leader: resp.LeaderID == resp.MemberID && resp.MemberID != "", Members: len(resp.Members)}
	if resp.Protocol != nil {
		j.Protocol = *resp.Protocol
	}
	return j
}

// SyncGroup syncs memberID at generation; a leader hands itself all of
// partitions of topic. It returns the error and the assignment received.
func (b *Broker) SyncGroup(ctx context.Context, t testing.TB, group, memberID string, generation int32, topic string, partitions ...int32) string {
	t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation = group, memberID, generation
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	if len(partitions) > 0 {
		a := kmsg.NewConsumerMemberAssignment()
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = topic, partitions
		a.Topics = append(a.Topics, at)
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = memberID, a.AppendTo(nil)
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if resp.ErrorCode != 0 {
		return ErrName(resp.ErrorCode)
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(resp.MemberAssignment); err != nil {
		return "NONE, undecodable assignment"
	}
	var parts []string
	for _, at := range a.Topics {
		parts = append(parts, fmt.Sprintf("%s%v", at.Topic, at.Partitions))
	}
	return fmt.Sprintf("NONE, assignment %v", parts)
}

// Heartbeat sends one heartbeat and returns its error.
func (b *Broker) Heartbeat(ctx context.Context, t testing.TB, group, memberID string, generation int32) string {
	t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = group, memberID, generation
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	return ErrName(resp.ErrorCode)
}

// CommitOffset commits offset for topic/partition as memberID at generation
// (-1 and "" for a commit from outside the group) and returns its error.
func (b *Broker) CommitOffset(ctx context.Context, t testing.TB, group, memberID string, generation int32, topic string, partition int32, offset int64) string {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, memberID, generation
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rt.TopicID = b.TopicMeta(ctx, t, topic).TopicID // v10 names topics by id (zero: unknown topic)
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = partition, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	return ErrName(resp.Topics[0].Partitions[0].ErrorCode)
}

// LeaveGroup removes memberIDs from group and returns the request's error
// and each member's.
func (b *Broker) LeaveGroup(ctx context.Context, t testing.TB, group string, memberIDs ...string) string {
	t.Helper()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	for _, id := range memberIDs {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = id
		req.Members = append(req.Members, m)
	}
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	codes := []string{ErrName(resp.ErrorCode)}
	for _, m := range resp.Members {
		codes = append(codes, "member "+ErrName(m.ErrorCode))
	}
	return fmt.Sprint(codes)
}
