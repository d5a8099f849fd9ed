package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// OffsetFetch, key 9, versions 1-9 (Kafka 4.x floor is 1; v10 names topics
// by id, not served yet).
//
// Returns committed offsets from memory (the offsets group's FSM keeps them
// there). A partition without a committed offset, and any partition of a
// group the broker has never seen, is offset -1 with no error: librdkafka
// treats GROUP_ID_NOT_FOUND here as fatal, and Kafka answers the same. Null
// topics (v2+) mean every committed partition of the group.
//
// Version notes: v1 has no top-level error (a coordinator error goes on each
// partition); v5+ return the leader epoch; v7+ carry require_stable, which
// has nothing to wait for until transactions land; v8+ fetch several groups
// at once, each with its own error; v9's member id and epoch apply to
// KIP-848 groups only (a member other than the current one at its epoch is
// UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH) and are ignored for classic
// groups.

func init() { regKey(9, 1, 9, handleOffsetFetch) }

func handleOffsetFetch(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := respFor[*kmsg.OffsetFetchResponse](r)
	// In the writer, so a commit pipelined before on this connection is seen.
	return reply{wait: func() kmsg.Response { b.groups.offsetFetch(r, req, resp); return resp }}, nil
}

func (c *coordinator) offsetFetch(r *request, req *kmsg.OffsetFetchRequest, resp *kmsg.OffsetFetchResponse) {
	if r.version >= 8 {
		for _, rg := range req.Groups {
			var want []kmsg.OffsetFetchRequestTopic
			if rg.Topics != nil {
				want = []kmsg.OffsetFetchRequestTopic{}
				for _, t := range rg.Topics {
					want = append(want, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			if r.version >= 9 {
				if sg.ErrorCode = c.consumerFetchCode(rg.Group, rg.MemberID, rg.MemberEpoch); sg.ErrorCode != 0 {
					resp.Groups = append(resp.Groups, sg)
					continue
				}
			}
			topics, code := c.fetchOffsets(rg.Group, want)
			sg.ErrorCode = code
			for _, t := range topics {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic = t.Topic
				for _, p := range t.Partitions {
					st.Partitions = append(st.Partitions, kmsg.OffsetFetchResponseGroupTopicPartition(p))
				}
				sg.Topics = append(sg.Topics, st)
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return
	}
	want := req.Topics
	if r.version == 1 && want == nil {
		want = []kmsg.OffsetFetchRequestTopic{} // null means all only from v2
	}
	topics, code := c.fetchOffsets(req.Group, want)
	resp.Topics = topics
	if r.version >= 2 {
		resp.ErrorCode = code
	} else if code != 0 {
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				resp.Topics[ti].Partitions[pi].ErrorCode = code
			}
		}
	}
}

// fetchOffsets answers one group: the requested partitions, or every
// committed one when want is nil.
func (c *coordinator) fetchOffsets(group string, want []kmsg.OffsetFetchRequestTopic) ([]kmsg.OffsetFetchResponseTopic, int16) {
	code := c.coordinatorCode()
	if group == "" {
		code = kerr.InvalidGroupID.Code
	}
	if want == nil {
		if code != 0 {
			return nil, code
		}
		return offsetTopics(c.store.GroupOffsets(group)), 0
	}
	var tps []raftlog.TopicPartition
	for _, t := range want {
		for _, p := range t.Partitions {
			tps = append(tps, raftlog.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	var got []raftlog.Committed
	if code == 0 {
		got = c.store.FetchMany(group, tps, nil)
	}
	out := make([]kmsg.OffsetFetchResponseTopic, 0, len(want))
	i := 0
	for _, t := range want {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t.Topic
		for _, p := range t.Partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch = p, -1, -1
			if got != nil {
				sp.Offset, sp.LeaderEpoch, sp.Metadata = got[i].Offset, got[i].LeaderEpoch, strp(got[i].Metadata)
			}
			i++
			st.Partitions = append(st.Partitions, sp)
		}
		out = append(out, st)
	}
	return out, code
}

func offsetTopics(all []raftlog.OffsetCommit) []kmsg.OffsetFetchResponseTopic {
	out := []kmsg.OffsetFetchResponseTopic{}
	for _, oc := range all {
		if n := len(out); n == 0 || out[n-1].Topic != oc.Topic {
			st := kmsg.NewOffsetFetchResponseTopic()
			st.Topic = oc.Topic
			out = append(out, st)
		}
		sp := kmsg.NewOffsetFetchResponseTopicPartition()
		sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = oc.Partition, oc.Offset, oc.LeaderEpoch, strp(oc.Metadata)
		st := &out[len(out)-1]
		st.Partitions = append(st.Partitions, sp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}
