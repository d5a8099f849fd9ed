package broker

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopics, key 19, versions 2-7 (Kafka 4.x floor is 2).
//
// NumPartitions -1 and ReplicationFactor -1 take the broker defaults
// (num.partitions, default.replication.factor). A replication factor above
// the number of brokers is INVALID_REPLICATION_FACTOR; explicit replica
// assignments must name live brokers. Configs are validated against the
// topic config table (unknown names and bad values are INVALID_CONFIG).
// v5+ responses carry the topic's configs as DescribeConfigs would, v7+ its
// id. ValidateOnly checks everything and creates nothing.

func init() { regKey(19, 2, 7, handleCreateTopics) }

func handleCreateTopics(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := respFor[*kmsg.CreateTopicsResponse](r)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	answered := map[string]bool{}
	for _, rt := range req.Topics {
		if answered[rt.Topic] {
			continue // a topic named twice gets one answer, as in Kafka
		}
		answered[rt.Topic] = true
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		fail := func(err *kerr.Error, msg string) {
			st.ErrorCode = err.Code
			st.ErrorMessage = strp(msg)
			st.NumPartitions, st.ReplicationFactor = -1, -1
		}
		parts, rf := rt.NumPartitions, rt.ReplicationFactor
		if parts == -1 {
			parts = b.cfg.NumPartitions
		}
		if rf == -1 {
			rf = b.cfg.DefaultReplicationFactor
		}
		configs := map[string]string{}
		var cfgErr error
		for _, c := range rt.Configs {
			if c.Value == nil && cfgErr == nil {
				cfgErr = fmt.Errorf("config %s has a null value", c.Name)
			}
			if err := validateTopicConfig(c.Name, c.Value); err != nil && cfgErr == nil {
				cfgErr = err
			}
			if c.Value != nil {
				configs[c.Name] = *c.Value
			}
		}
		switch {
		case seen[rt.Topic] > 1:
			fail(kerr.InvalidRequest, "topic "+rt.Topic+" appears more than once in the request")
		case validTopicName(rt.Topic) != nil:
			fail(kerr.InvalidTopicException, fmt.Sprintf("topic name %q is not valid: use up to 249 of [a-zA-Z0-9._-]", rt.Topic))
		case b.topic(rt.Topic) != nil:
			fail(kerr.TopicAlreadyExists, "topic "+rt.Topic+" already exists")
		case len(rt.ReplicaAssignment) > 0 && (rt.NumPartitions != -1 || rt.ReplicationFactor != -1):
			fail(kerr.InvalidRequest, "give either a replica assignment or partitions and replication factor, not both")
		case len(rt.ReplicaAssignment) > 0 && !b.validAssignment(rt.ReplicaAssignment):
			fail(kerr.InvalidReplicaAssignment, "replica assignment names brokers that do not exist or repeats a partition")
		case len(rt.ReplicaAssignment) == 0 && parts <= 0:
			fail(kerr.InvalidPartitions, "number of partitions must be larger than 0")
		case len(rt.ReplicaAssignment) == 0 && rf <= 0:
			fail(kerr.InvalidReplicationFactor, "replication factor must be larger than 0")
		case len(rt.ReplicaAssignment) == 0 && int(rf) > b.brokerCount():
			fail(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor: %d larger than available brokers: %d", rf, b.brokerCount()))
		case cfgErr != nil:
			fail(kerr.InvalidConfig, cfgErr.Error())
		default:
			if len(rt.ReplicaAssignment) > 0 {
				parts = int32(len(rt.ReplicaAssignment))
				rf = int16(len(rt.ReplicaAssignment[0].Replicas))
			}
			if err := b.sm.checkTopicTransforms(b.ctx, rt.Topic, configs, true); err != nil {
				fail(kerr.InvalidConfig, err.Error())
				break
			}
			stored := parts
			if src := configs[cfgViewOf]; src != "" {
				// A view has no storage: its partitions are its source's.
				parts, stored = int32(len(b.topic(src).parts)), 0
			}
			st.NumPartitions, st.ReplicationFactor = parts, rf
			if !req.ValidateOnly {
				t, err := b.createTopic(rt.Topic, stored, rf, configs)
				if err != nil {
					fail(kerr.ErrorForCode(errCode(err)).(*kerr.Error), err.Error())
					break
				}
				st.TopicID = t.meta.ID
			}
			if r.version >= 5 {
				for _, c := range b.describeTopicConfigs(configs, nil, false, false) {
					st.Configs = append(st.Configs, kmsg.CreateTopicsResponseTopicConfig{
						Name: c.Name, Value: c.Value, ReadOnly: c.ReadOnly, Source: int8(c.Source), IsSensitive: c.IsSensitive,
					})
				}
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}

// brokerCount is the number of brokers in the cluster (one until
// replication lands).
func (b *Broker) brokerCount() int { return 1 }

func (b *Broker) validAssignment(as []kmsg.CreateTopicsRequestTopicReplicaAssignment) bool {
	seen := map[int32]bool{}
	n := -1
	for _, a := range as {
		if seen[a.Partition] || a.Partition < 0 || int(a.Partition) >= len(as) || len(a.Replicas) == 0 {
			return false
		}
		if n != -1 && len(a.Replicas) != n {
			return false
		}
		n = len(a.Replicas)
		seen[a.Partition] = true
		for _, id := range a.Replicas {
			if id != b.cfg.NodeID {
				return false
			}
		}
	}
	return true
}
