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
