package broker

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterPartitionReassignments, key 45, versions 0-1.
//
// Every partition lives on this node only, so the one assignment Kafka 4.4
// would accept here is the current one, [this node], and it changes nothing.
// Anything else is refused per partition with Kafka's checks and messages,
// in its order: an empty list, a broker named twice, a broker that is not
// registered (INVALID_REPLICA_ASSIGNMENT). Null replicas cancel a
// reassignment, and none is ever in progress (NO_REASSIGNMENT_IN_PROGRESS).
// Unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION.
//
// # Notes
//
//   - v1's allow_replication_factor_change cannot matter: the only accepted
//     list keeps the replication factor at 1.

func init() { regKey(45, 0, 1, handleAlterPartitionReassignments) }

func handleAlterPartitionReassignments(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := respFor[*kmsg.AlterPartitionAssignmentsResponse](r)
	view := b.view.Load()
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		ts := view.byName[rt.Topic]
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			var msg string
			switch {
			case ts == nil:
				sp.ErrorCode, msg = kerr.UnknownTopicOrPartition.Code, "Unable to find a topic named "+rt.Topic+"."
			case rp.Partition < 0 || int(rp.Partition) >= len(ts.parts):
				sp.ErrorCode, msg = kerr.UnknownTopicOrPartition.Code, fmt.Sprintf("Unable to find partition %s:%d.", rt.Topic, rp.Partition)
			case rp.Replicas == nil:
				sp.ErrorCode = kerr.NoReassignmentInProgress.Code
			default:
				sp.ErrorCode, msg = b.checkAssignment(rp.Replicas)
			}
			if msg != "" {
				sp.ErrorMessage = &msg
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}

// checkAssignment validates a manual replica list as Kafka's controller
// does; this node is the only registered broker.
func (b *Broker) checkAssignment(replicas []int32) (int16, string) {
	if len(replicas) == 0 {
		return kerr.InvalidReplicaAssignment.Code, "The manual partition assignment includes an empty replica list."
	}
	sorted := slices.Sorted(slices.Values(replicas))
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("The manual partition assignment includes the broker %d more than once.", sorted[i])
		}
	}
	for _, id := range replicas {
		if id != b.cfg.NodeID {
			return kerr.InvalidReplicaAssignment.Code, fmt.Sprintf("The manual partition assignment includes broker %d, but no such broker is registered.", id)
		}
	}
	return 0, ""
}
