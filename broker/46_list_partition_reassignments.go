package broker

import "github.com/twmb/franz-go/pkg/kmsg"

// ListPartitionReassignments, key 46, version 0.
//
// Lists the reassignments in progress. Replicas are never reassigned here
// (each partition lives on this node only), so the answer is always an
// empty list, as Kafka 4.4 answers when none is in progress; Kafka leaves
// unknown topics and partitions out of it without an error, and so does
// Skiff.

func init() { regKey(46, 0, 0, handleListPartitionReassignments) }

func handleListPartitionReassignments(b *Broker, r *request) (reply, error) {
	resp := respFor[*kmsg.ListPartitionReassignmentsResponse](r)
	resp.Topics = []kmsg.ListPartitionReassignmentsResponseTopic{}
	return reply{resp: resp}, nil
}
