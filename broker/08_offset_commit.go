package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// OffsetCommit, key 8, versions 2-9 (Kafka 4.x floor is 2; v10 names topics
// by id, which this broker does not serve yet).
//
// Commits are checked against the group as Kafka 4 checks them (generation,
// member id, group.instance.id; a negative generation without a member is an
// admin or manual-assignment commit, allowed while the group is empty and
// creating it if unknown) and answered after the offsets are committed
// through the offsets Raft group, so an acknowledged commit survives kill -9.
// Commits of one group reach Raft in the order they are checked.
//
// Version notes:
//   - v2-4 carry a retention time, which is ignored (offsets.retention.minutes
//     applies); the commit time is the broker's.
//   - v6+ carry the leader epoch, v7+ the group.instance.id.
//   - An unknown group with a non-negative generation is ILLEGAL_GENERATION
//     before v9 and GROUP_ID_NOT_FOUND from v9, as in Kafka 4.
//   - v9 carries the member epoch of a consumer-protocol (KIP-848) member
//     as its generation; such members must commit with v9+
//     (UNSUPPORTED_VERSION) and their current epoch, or an older one for
//     partitions they owned since (else STALE_MEMBER_EPOCH); see
//     consumer_group_offsets.go.
//
// # Notes
//   - An unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION; metadata
//     longer than offset.metadata.max.bytes (4096) is OFFSET_METADATA_TOO_LARGE.

func init() { regKey(8, 2, 9, handleOffsetCommit) }

func handleOffsetCommit(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := respFor[*kmsg.OffsetCommitResponse](r)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{wait: func() kmsg.Response { b.groups.offsetCommit(r, req, resp); return resp }}, nil
}

func (c *coordinator) offsetCommit(r *request, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse) {
	setAll := func(code int16) {
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				resp.Topics[ti].Partitions[pi].ErrorCode = code
			}
		}
	}
	instanceID := ""
	if r.version >= 7 && req.InstanceID != nil {
		instanceID = *req.InstanceID
	}
	switch {
	case req.Group == "":
		setAll(kerr.InvalidGroupID.Code)
		return
	case c.coordinatorCode() != 0:
		setAll(c.coordinatorCode())
		return
	}
	g := c.group(req.Group, req.Generation < 0)
	if g == nil {
		if r.version >= 9 {
			setAll(kerr.GroupIDNotFound.Code)
		} else {
			setAll(kerr.IllegalGeneration.Code)
		}
		return
	}
	g.mu.Lock()
	code := int16(0)
	if g.cg != nil {
		code = g.consumerCommitCode(r.version, req)
	} else {
		code = g.commitCode(req.Generation, req.MemberID, instanceID)
	}
	if code != 0 {
		g.mu.Unlock()
		setAll(code)
		return
	}
	now := time.Now().UnixMilli()
	var commits []raftlog.OffsetCommit
	var slots []*kmsg.OffsetCommitResponseTopicPartition
	for ti, rt := range req.Topics {
		t := c.b.topic(rt.Topic)
		for pi, rp := range rt.Partitions {
			sp := &resp.Topics[ti].Partitions[pi]
			switch {
			case t == nil || rp.Partition < 0 || int(rp.Partition) >= len(t.parts):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			case rp.Metadata != nil && len(*rp.Metadata) > offsetMetadataMaxBytes:
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			oc := raftlog.OffsetCommit{TopicPartition: raftlog.TopicPartition{Topic: rt.Topic, Partition: rp.Partition},
				Committed: raftlog.Committed{Offset: rp.Offset, LeaderEpoch: -1, CommitTime: now}}
			if r.version >= 6 {
				oc.LeaderEpoch = rp.LeaderEpoch
			}
			if rp.Metadata != nil {
				oc.Metadata = *rp.Metadata
			}
			commits = append(commits, oc)
			slots = append(slots, sp)
		}
	}
	if len(commits) == 0 {
		g.mu.Unlock()
		return
	}
	// Submitted under the group's lock (Raft keeps the order), waited for
	// outside it, so commits of many members share fsyncs.
	fut := c.store.Commit(req.Group, commits)
	g.mu.Unlock()
	if err := fut.Wait(); err != nil {
		code := errCode(err)
		for _, sp := range slots {
			sp.ErrorCode = code
		}
	}
}
