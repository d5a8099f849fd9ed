package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// OffsetFetch, key 9, versions 1-10 (Kafka 4.x floor is 1).
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
// at once, each with its own error (and then no topics, as Kafka); v9's
// member id and epoch apply to KIP-848 groups only (a member other than the
// current one at its epoch is UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH) and
// are ignored for classic groups; v10 names topics by id (KIP-848).
//
// # Notes
//   - v10: a topic id this broker does not know is UNKNOWN_TOPIC_ID on each
//     of its partitions (offset -1), listed after the known topics as Kafka
//     lists them; all offsets (null topics) leave out topics that are gone.
func init() { regKey(9, 1, 10, handleOffsetFetch) }

func handleOffsetFetch(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := respFor[*kmsg.OffsetFetchResponse](r)
	// In the writer, so a commit pipelined before on this connection is seen.
	return reply{wait: func() kmsg.Response { b.groups.offsetFetch(r, req, resp); return resp }}, nil
}

func (c *coordinator) offsetFetch(r *request, req *kmsg.OffsetFetchRequest, resp *kmsg.OffsetFetchResponse) {
	if r.version >= 8 {
		for _, rg := range req.Groups {
			resp.Groups = append(resp.Groups, c.offsetFetchGroup(r.version, rg))
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

// offsetFetchGroup answers one group of an OffsetFetch v8+.
func (c *coordinator) offsetFetchGroup(ver int16, rg kmsg.OffsetFetchRequestGroup) kmsg.OffsetFetchResponseGroup {
	sg := kmsg.NewOffsetFetchResponseGroup()
	sg.Group = rg.Group
	view := c.b.view.Load()
	var want []kmsg.OffsetFetchRequestTopic
	var unknown []kmsg.OffsetFetchResponseGroupTopic // v10: ids this broker does not know
	if rg.Topics != nil {
		want = []kmsg.OffsetFetchRequestTopic{}
		for _, t := range rg.Topics {
			name := t.Topic
			if ver >= 10 {
				ts := view.byID[t.TopicID]
				if ts == nil {
					unknown = append(unknown, unknownTopicID(t))
					continue
				}
				name = ts.meta.Name
			}
			want = append(want, kmsg.OffsetFetchRequestTopic{Topic: name, Partitions: t.Partitions})
		}
	}
	if ver >= 9 {
		if sg.ErrorCode = c.consumerFetchCode(rg.Group, rg.MemberID, rg.MemberEpoch); sg.ErrorCode != 0 {
			return sg
		}
	}
	topics, code := c.fetchOffsets(rg.Group, want)
	if sg.ErrorCode = code; code != 0 {
		return sg // Kafka answers a group error without topics
	}
	for _, t := range topics {
		st := kmsg.NewOffsetFetchResponseGroupTopic()
		st.Topic = t.Topic
		if ver >= 10 {
			ts := view.byName[t.Topic]
			if ts == nil {
				continue // committed, then deleted: no id to name it by
			}
			st.TopicID = ts.meta.ID
		}
		for _, p := range t.Partitions {
			st.Partitions = append(st.Partitions, kmsg.OffsetFetchResponseGroupTopicPartition(p))
		}
		sg.Topics = append(sg.Topics, st)
	}
	sg.Topics = append(sg.Topics, unknown...)
	return sg
}

// unknownTopicID answers the partitions of a topic id nobody knows.
func unknownTopicID(t kmsg.OffsetFetchRequestGroupTopic) kmsg.OffsetFetchResponseGroupTopic {
	st := kmsg.NewOffsetFetchResponseGroupTopic()
	st.TopicID = t.TopicID
	for _, p := range t.Partitions {
		sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		sp.Partition, sp.Offset, sp.Metadata, sp.ErrorCode = p, -1, strp(""), kerr.UnknownTopicID.Code
		st.Partitions = append(st.Partitions, sp)
	}
	return st
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
