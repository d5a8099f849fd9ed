package broker

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/raftlog"
)

// OffsetCommit, key 8, versions 2-10 (Kafka 4.x floor is 2).
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
//   - v10 names topics by id, in the request and the response (KIP-848); a
//     topic id this broker does not know is UNKNOWN_TOPIC_ID.
//
// # Notes
//   - Unknown topics and partitions are answered first, as Kafka's KafkaApis
//     does before it asks the group coordinator: UNKNOWN_TOPIC_ID (v10) or
//     UNKNOWN_TOPIC_OR_PARTITION, whatever the group's state; the group is
//     checked, and created, only when some partition is left.
//   - Metadata longer than offset.metadata.max.bytes (4096) is
//     OFFSET_METADATA_TOO_LARGE.
//   - The response lists the topics in request order (Kafka lists those with
//     an unknown topic or partition first); clients match them by name or id.

func init() { regKey(8, 2, 10, handleOffsetCommit) }

func handleOffsetCommit(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := respFor[*kmsg.OffsetCommitResponse](r)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
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
	valid, slots := c.b.knownCommitPartitions(r.version, req, resp)
	if len(slots) == 0 {
		return
	}
	setAll := func(code int16) {
		for _, sp := range slots {
			sp.ErrorCode = code
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
		code = g.consumerCommitCode(r.version, valid)
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
	var committed []*kmsg.OffsetCommitResponseTopicPartition
	i := 0
	for _, rt := range valid.Topics {
		for _, rp := range rt.Partitions {
			sp := slots[i]
			i++
			if rp.Metadata != nil && len(*rp.Metadata) > offsetMetadataMaxBytes {
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
			committed = append(committed, sp)
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
		for _, sp := range committed {
			sp.ErrorCode = code
		}
	}
}

// knownCommitPartitions answers the partitions of topics or partitions this
// broker does not know (UNKNOWN_TOPIC_ID for a v10 topic id, else
// UNKNOWN_TOPIC_OR_PARTITION) and returns a copy of req with the others,
// topics named (v10 resolves the ids), and their response partitions in the
// same order.
func (b *Broker) knownCommitPartitions(ver int16, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse) (*kmsg.OffsetCommitRequest, []*kmsg.OffsetCommitResponseTopicPartition) {
	view := b.view.Load()
	valid := *req
	valid.Topics = nil
	var slots []*kmsg.OffsetCommitResponseTopicPartition
	for ti, rt := range req.Topics {
		var t *topicState
		unknown := kerr.UnknownTopicOrPartition.Code
		if ver >= 10 {
			t, unknown = view.byID[rt.TopicID], kerr.UnknownTopicID.Code
		} else {
			t = view.byName[rt.Topic]
		}
		known := rt
		known.Partitions = nil
		for pi, rp := range rt.Partitions {
			sp := &resp.Topics[ti].Partitions[pi]
			switch {
			case t == nil:
				sp.ErrorCode = unknown
			case rp.Partition < 0 || int(rp.Partition) >= len(t.parts):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				known.Partitions = append(known.Partitions, rp)
				slots = append(slots, sp)
			}
		}
		if len(known.Partitions) > 0 {
			known.Topic = t.meta.Name
			valid.Topics = append(valid.Topics, known)
		}
	}
	return &valid, slots
}
