package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// Committed offsets of consumer groups: the member checks of OffsetCommit and
// OffsetFetch, and which offsets expire, as Kafka's ConsumerGroup has them.

// consumerCommitCode checks an OffsetCommit against a consumer group. A
// commit without a member (epoch < 0) is allowed only while the group has
// no members. A member must use OffsetCommit v9+ and its epoch: the current
// one, or an older one for partitions it owned since then (KIP-1251: a
// commit sent just before the member's epoch moved on). g.mu is held.
func (g *group) consumerCommitCode(ver int16, req *kmsg.OffsetCommitRequest) int16 {
	cg := g.cg
	if g.state == groupDead {
		return kerr.CoordinatorNotAvailable.Code
	}
	if req.Generation < 0 && len(cg.members) == 0 {
		return 0
	}
	m := cg.members[req.MemberID]
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case ver < 9:
		return kerr.UnsupportedVersion.Code
	case req.Generation == m.epoch:
		return 0
	case req.Generation > m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	view := g.c.b.view.Load()
	for _, rt := range req.Topics {
		t := view.byName[rt.Topic]
		if t == nil {
			continue // UNKNOWN_TOPIC_OR_PARTITION for its partitions
		}
		for _, rp := range rt.Partitions {
			if e, ok := m.owns(topicPart{t.meta.ID, rp.Partition}); !ok || req.Generation < e {
				return kerr.StaleMemberEpoch.Code
			}
		}
	}
	return 0
}

// consumerFetchCode checks the member of an OffsetFetch (v9+) of a consumer
// group: none (admin tools) is fine, else it must be a member at its epoch.
func (c *coordinator) consumerFetchCode(group string, memberID *string, epoch int32) int16 {
	if memberID == nil && epoch < 0 {
		return 0
	}
	g := c.group(group, false)
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cg == nil {
		return 0
	}
	var m *consumerMember
	if memberID != nil {
		m = g.cg.members[*memberID]
	}
	switch {
	case m == nil:
		return kerr.UnknownMemberID.Code
	case m.epoch != epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// consumerExpiry is offsets retention for a consumer group, as Kafka's
// ConsumerGroup: an offset of a topic no member subscribes to expires the
// retention after its commit; the group goes when it has no members and no
// offsets left. g.mu is held.
func (g *group) consumerExpiry(now time.Time, retention time.Duration) (expired []raftlog.TopicPartition, remove bool) {
	offsets := g.c.store.GroupOffsets(g.name)
	subscribed := g.cg.subscribedTopics()
	for _, o := range offsets {
		if !subscribed[o.Topic] && now.UnixMilli()-o.CommitTime >= retention.Milliseconds() {
			expired = append(expired, o.TopicPartition)
		}
	}
	return expired, len(g.cg.members) == 0 && len(expired) == len(offsets)
}
