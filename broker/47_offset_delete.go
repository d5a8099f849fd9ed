package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// OffsetDelete, key 47, version 0 (KIP-496).
//
// Deletes committed offsets of a group. As in Kafka: an unknown group is
// GROUP_ID_NOT_FOUND; a group with members is NON_EMPTY_GROUP unless it uses
// the consumer protocol, in which case only the partitions of topics no
// member subscribes to are deleted and the others get
// GROUP_SUBSCRIBED_TO_TOPIC; unknown partitions are UNKNOWN_TOPIC_OR_PARTITION.
// A consumer-protocol (KIP-848) group is treated like the latter whatever
// its state: offsets of topics its members subscribe to (by name or regex)
// stay.

func init() { regKey(47, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	resp := respFor[*kmsg.OffsetDeleteResponse](r)
	return reply{wait: func() kmsg.Response { b.groups.offsetDelete(req, resp); return resp }}, nil
}

func (c *coordinator) offsetDelete(req *kmsg.OffsetDeleteRequest, resp *kmsg.OffsetDeleteResponse) {
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return
	}
	if resp.ErrorCode = c.coordinatorCode(); resp.ErrorCode != 0 {
		return
	}
	g := c.group(req.Group, false)
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	subscribed := map[string]bool{}
	switch {
	case g.state == groupDead:
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return
	case g.cg != nil:
		subscribed = g.cg.subscribedTopics()
	case g.state == groupEmpty:
	case g.protocolType != "consumer":
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return
	default:
		for _, m := range g.members {
			for _, t := range m.subscribedTopics(g.protocol) {
				subscribed[t] = true
			}
		}
	}
	var tps []raftlog.TopicPartition
	var slots []*kmsg.OffsetDeleteResponseTopicPartition
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		t := c.b.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.parts):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case subscribed[rt.Topic]:
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				tps = append(tps, raftlog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			if sp := &resp.Topics[ti].Partitions[pi]; sp.ErrorCode == 0 {
				slots = append(slots, sp)
			}
		}
	}
	if len(tps) == 0 {
		return
	}
	if err := c.store.DeleteOffsets(req.Group, tps).Wait(); err != nil {
		for _, sp := range slots {
			sp.ErrorCode = errCode(err)
		}
	}
}
