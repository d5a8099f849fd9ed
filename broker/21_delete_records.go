package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords, key 21, versions 0-2.
//
// Moves a partition's log start offset to the given offset (-1 means the
// high watermark) through Raft; an offset past the high watermark is
// OFFSET_OUT_OF_RANGE. The answer's low watermark is the new log start.
// Disk space of whole batches below it is reclaimed by the retention loop.

func init() { regKey(21, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DeleteRecordsRequest)
	resp := respFor[*kmsg.DeleteRecordsResponse](r)
	view := b.view.Load()
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p, code := fetchPartition(view, &fetchPart{key: sessionKey{rt.Topic, rp.Partition}, epoch: -1})
			if t := view.byName[rt.Topic]; code == 0 && t.isView() {
				code = kerr.PolicyViolation.Code // a view stores nothing; delete from its source
			}
			if code == 0 {
				off := rp.Offset
				if off == -1 {
					_, off = p.Offsets()
				}
				if off < 0 {
					code = kerr.OffsetOutOfRange.Code
				} else {
					res := p.Truncate(off)
					code = errCode(res.Err)
					sp.LowWatermark = res.LogStartOffset
				}
			}
			sp.ErrorCode = code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}
