package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions, key 37, versions 0-3.
//
// Grows a topic to Count partitions; a count not larger than the current one
// is INVALID_PARTITIONS. Explicit assignments must name live brokers.

func init() { regKey(37, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := respFor[*kmsg.CreatePartitionsResponse](r)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		t := b.topic(rt.Topic)
		fail := func(e *kerr.Error, msg string) { st.ErrorCode, st.ErrorMessage = e.Code, strp(msg) }
		switch {
		case seen[rt.Topic] > 1:
			fail(kerr.InvalidRequest, "topic "+rt.Topic+" appears more than once in the request")
		case t == nil:
			fail(kerr.UnknownTopicOrPartition, "topic "+rt.Topic+" does not exist")
		case t.isView():
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %s is a view of %s and has its partitions: add partitions to %s", rt.Topic, t.meta.Configs[cfgViewOf], t.meta.Configs[cfgViewOf]))
		case int(rt.Count) <= len(t.parts):
			fail(kerr.InvalidPartitions, fmt.Sprintf("topic currently has %d partitions, which is higher than or equal to the requested %d", len(t.parts), rt.Count))
		case rt.Assignment != nil && len(rt.Assignment) != int(rt.Count)-len(t.parts):
			fail(kerr.InvalidReplicaAssignment, "the assignment must name each new partition")
		case !b.assignmentBrokersExist(rt.Assignment):
			fail(kerr.InvalidReplicaAssignment, "the assignment names brokers that do not exist")
		case req.ValidateOnly:
		default:
			if err := b.ctrl.CreatePartitions(rt.Topic, rt.Count); err != nil {
				fail(kerr.ErrorForCode(errCode(err)).(*kerr.Error), err.Error())
				break
			}
			if err := b.reconcile(); err != nil {
				fail(kerr.KafkaStorageError, err.Error())
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}

func (b *Broker) assignmentBrokersExist(as []kmsg.CreatePartitionsRequestTopicAssignment) bool {
	for _, a := range as {
		if len(a.Replicas) == 0 {
			return false
		}
		for _, id := range a.Replicas {
			if id != b.cfg.NodeID {
				return false
			}
		}
	}
	return true
}
