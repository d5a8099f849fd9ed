package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch, key 23, versions 2-4 (Kafka 4.x floor is 2).
//
// For a requested leader epoch, the end offset of that epoch: the first
// offset of the next larger epoch this partition has written, or the log end
// offset if the epoch is the latest (KIP-101/KIP-320; consumers use it to
// detect log truncation after a leader change). Leader epochs are Raft terms.

func init() { regKey(23, 2, 4, handleOffsetForLeaderEpoch) }

func handleOffsetForLeaderEpoch(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := respFor[*kmsg.OffsetForLeaderEpochResponse](r)
	view := b.view.Load()
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			p, code := fetchPartition(view, &fetchPart{key: sessionKey{rt.Topic, rp.Partition}, epoch: rp.CurrentLeaderEpoch})
			if code == 0 {
				sp.LeaderEpoch, sp.EndOffset = p.EndOffsetForEpoch(rp.LeaderEpoch)
			}
			if code == kerr.UnknownTopicOrPartition.Code && view.byName[rt.Topic] == nil {
				code = kerr.UnknownTopicOrPartition.Code
			}
			sp.ErrorCode = code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
