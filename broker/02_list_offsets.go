package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets, key 2, versions 1-9 (Kafka 4.x floor is 1).
//
// Timestamp -2 is the log start offset, -1 the high watermark (the last
// stable offset for read_committed, the same until transactions land), -3
// the record with the largest timestamp (KIP-734), -4 the earliest local
// offset (the log start: Skiff has no tiered storage) and -5 latest tiered
// (none: -1). A timestamp ≥ 0 finds the first record whose timestamp is at
// or after it, reading the one batch that holds it.

func init() { regKey(2, 1, 9, handleListOffsets) }

func handleListOffsets(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := respFor[*kmsg.ListOffsetsResponse](r)
	view := b.view.Load()
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t := view.byName[rt.Topic]
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			fp := &fetchPart{key: sessionKey{rt.Topic, rp.Partition}, epoch: rp.CurrentLeaderEpoch}
			if t == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, code := fetchPartition(view, fp)
			if code != 0 {
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			sp.LeaderEpoch = p.LeaderEpoch()
			logStart, hw := p.Offsets()
			var err error
			switch ts := rp.Timestamp; {
			case ts == -2 || ts == -4:
				sp.Offset = logStart
			case ts == -1:
				sp.Offset = hw
			case ts == -3:
				sp.Offset, sp.Timestamp, err = p.MaxTimestampOffset()
			case ts == -5:
				sp.Offset = -1
			case ts >= 0:
				sp.Offset, sp.Timestamp, err = p.OffsetForTimestamp(ts)
			default:
				sp.ErrorCode = kerr.InvalidRequest.Code
			}
			if err != nil {
				b.log.Error("list offsets", "topic", rt.Topic, "partition", rp.Partition, "err", err)
				sp.ErrorCode = kerr.KafkaStorageError.Code
			}
			if sp.Offset == -1 && rp.Timestamp >= 0 || rp.Timestamp == -3 && sp.Offset == -1 {
				sp.LeaderEpoch = -1
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
