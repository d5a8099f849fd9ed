package broker

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// ElectLeaders, key 43, versions 0-2.
//
// Every partition has one replica, this node, which is also its preferred
// replica, so there is never an election to run: a partition with a leader
// is ELECTION_NOT_NEEDED, for preferred (0) and unclean (1) elections alike,
// as Kafka 4.4 answers a single-broker cluster. A partition whose Raft group
// has no leader yet is PREFERRED_LEADER_NOT_AVAILABLE (preferred) or
// ELIGIBLE_LEADERS_NOT_AVAILABLE (unclean). Unknown topics and partitions are
// UNKNOWN_TOPIC_OR_PARTITION.
//
// # Notes
//
//   - Null topics (v0+) means every partition; as in Kafka, the answer then
//     lists every topic but leaves out the partitions whose election was not
//     needed.
//   - Kafka 4.4 answers a request with timeout_ms 0 REQUEST_TIMED_OUT (the
//     controller's deadline has passed before it starts); Skiff answers it.

func init() { regKey(43, 0, 2, handleElectLeaders) }

func handleElectLeaders(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ElectLeadersRequest)
	resp := respFor[*kmsg.ElectLeadersResponse](r)
	view := b.view.Load()
	unclean := r.version >= 1 && req.ElectionType == 1
	if req.Topics == nil {
		names := make([]string, 0, len(view.byName))
		for name := range view.byName {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = name
			for i, p := range view.byName[name].parts {
				if code := electionCode(p, unclean); code != kerr.ElectionNotNeeded.Code {
					rt.Partitions = append(rt.Partitions, electResult(int32(i), code, name))
				}
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return reply{resp: resp}, nil
	}
	for _, t := range req.Topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = t.Topic
		ts := view.byName[t.Topic]
		for _, part := range t.Partitions {
			code := kerr.UnknownTopicOrPartition.Code
			if ts != nil && part >= 0 && int(part) < len(ts.parts) {
				code = electionCode(ts.parts[part], unclean)
			}
			rt.Partitions = append(rt.Partitions, electResult(part, code, t.Topic))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return reply{resp: resp}, nil
}

// electionCode is the answer to an election on a partition that exists.
func electionCode(p *raftlog.Partition, unclean bool) int16 {
	switch {
	case p != nil && p.IsLeader():
		return kerr.ElectionNotNeeded.Code
	case unclean:
		return kerr.EligibleLeadersNotAvailable.Code
	default:
		return kerr.PreferredLeaderNotAvailable.Code
	}
}

func electResult(partition int32, code int16, topic string) kmsg.ElectLeadersResponseTopicPartition {
	rp := kmsg.NewElectLeadersResponseTopicPartition()
	rp.Partition = partition
	rp.ErrorCode = code
	switch code {
	case kerr.ElectionNotNeeded.Code:
		rp.ErrorMessage = strp("Leader election not needed for topic partition.")
	case kerr.UnknownTopicOrPartition.Code:
		rp.ErrorMessage = strp("No such partition as " + topic + "-" + itoa(partition))
	}
	return rp
}
