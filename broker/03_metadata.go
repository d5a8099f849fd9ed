package broker

import (
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata, key 3, versions 0-12 (Kafka 4.x serves 0-13; v13 only adds a
// top-level error code kmsg may not encode yet, see the version test).
//
// Null topics (v1+) or an empty list (v0) means every topic. Unknown topics
// are created when auto.create.topics.enable is on and the request allows it
// (always before v4); a name Kafka would refuse gets INVALID_TOPIC_EXCEPTION,
// and Kafka's internal topic names are marked internal and never auto-created
// (isInternalTopic).
// Topic ids are served from v10, and a topic asked for by id alone (v12+) is
// resolved by id. Authorized operations (v8+; the cluster's only v8-v10)
// are every operation when asked for, as Kafka answers without an
// authorizer (authorized_ops.go), except on a topic unknown by id.

func init() { regKey(3, 0, 12, handleMetadata) }

func (b *Broker) brokerEndpoint() (string, int32) {
	host, port, err := net.SplitHostPort(b.cfg.Advertise)
	if err != nil {
		return b.cfg.Advertise, 9092
	}
	p, _ := strconv.Atoi(port)
	return host, int32(p)
}

func handleMetadata(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := respFor[*kmsg.MetadataResponse](r)
	host, port := b.brokerEndpoint()
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: b.cfg.NodeID, Host: host, Port: port}}
	resp.ClusterID = strp(b.ctrl.Meta().ClusterID)
	resp.ControllerID = b.cfg.NodeID

	b.metadataTopics(req, resp, r.version)
	if r.version >= 8 {
		if r.version <= 10 {
			resp.AuthorizedOperations = authorizedOps(req.IncludeClusterAuthorizedOperations, clusterOps)
		}
		for i := range resp.Topics {
			if mt := &resp.Topics[i]; mt.ErrorCode != kerr.UnknownTopicID.Code {
				mt.AuthorizedOperations = authorizedOps(req.IncludeTopicAuthorizedOperations, topicOps)
			}
		}
	}
	return reply{resp: resp}, nil
}

// metadataTopics fills resp.Topics with the topics req asks for, creating
// unknown ones when allowed.
func (b *Broker) metadataTopics(req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse, version int16) {
	all := req.Topics == nil || (version == 0 && len(req.Topics) == 0)
	if all {
		for _, t := range b.view.Load().byName {
			resp.Topics = append(resp.Topics, b.topicMetadata(t, version))
		}
		return
	}
	autoCreate := b.cfg.AutoCreateTopics && (version < 4 || req.AllowAutoTopicCreation)
	for _, rt := range req.Topics {
		var t *topicState
		switch {
		case rt.Topic != nil && *rt.Topic != "" && validTopicName(*rt.Topic) != nil:
			resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{ErrorCode: kerr.InvalidTopicException.Code, Topic: rt.Topic, AuthorizedOperations: opsNotProvided})
			continue
		case rt.Topic != nil && *rt.Topic != "":
			t = b.topic(*rt.Topic)
			if t == nil && autoCreate {
				code := b.autoCreate(*rt.Topic)
				if code != 0 {
					resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{ErrorCode: code, Topic: rt.Topic, IsInternal: isInternalTopic(*rt.Topic), AuthorizedOperations: opsNotProvided})
					continue
				}
				t = b.topic(*rt.Topic)
			}
			if t == nil {
				resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{ErrorCode: kerr.UnknownTopicOrPartition.Code, Topic: rt.Topic, IsInternal: isInternalTopic(*rt.Topic), AuthorizedOperations: opsNotProvided})
				continue
			}
		default:
			t = b.view.Load().byID[rt.TopicID]
			if t == nil {
				resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{ErrorCode: kerr.UnknownTopicID.Code, TopicID: rt.TopicID, AuthorizedOperations: opsNotProvided})
				continue
			}
		}
		resp.Topics = append(resp.Topics, b.topicMetadata(t, version))
	}
}

func (b *Broker) topicMetadata(t *topicState, version int16) kmsg.MetadataResponseTopic {
	name := t.meta.Name
	mt := kmsg.MetadataResponseTopic{Topic: &name, TopicID: t.meta.ID, IsInternal: isInternalTopic(name), AuthorizedOperations: opsNotProvided}
	for i, p := range t.parts {
		mp := kmsg.MetadataResponseTopicPartition{
			Partition:       int32(i),
			Leader:          b.cfg.NodeID,
			Replicas:        []int32{b.cfg.NodeID},
			ISR:             []int32{b.cfg.NodeID},
			OfflineReplicas: []int32{},
			LeaderEpoch:     -1,
		}
		switch {
		case p == nil:
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
			mp.Leader = -1
		case !p.IsLeader():
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
			mp.Leader = -1
		default:
			mp.LeaderEpoch = p.LeaderEpoch()
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// autoCreate creates a topic with the broker defaults, for Metadata and
// Produce on an unknown topic. It returns a Kafka error code.
func (b *Broker) autoCreate(name string) int16 {
	if err := validTopicName(name); err != nil {
		return kerr.InvalidTopicException.Code
	}
	if isInternalTopic(name) {
		return kerr.UnknownTopicOrPartition.Code
	}
	if _, err := b.createTopic(name, b.cfg.NumPartitions, b.cfg.DefaultReplicationFactor, nil); err != nil && err != kerr.TopicAlreadyExists {
		b.log.Warn("auto-create topic failed", "topic", name, "err", err)
		return errCode(err)
	}
	return 0
}

// createTopic adds a topic through the controller and opens its partitions
// before returning, so the first produce finds a leader.
func (b *Broker) createTopic(name string, partitions int32, rf int16, configs map[string]string) (*topicState, error) {
	if _, err := b.ctrl.CreateTopic(name, partitions, rf, configs); err != nil {
		return nil, err
	}
	b.log.Info("topic created", "topic", name, "partitions", partitions)
	if err := b.reconcile(); err != nil {
		return nil, err
	}
	return b.topic(name), nil
}

// validTopicName applies Kafka's topic name rules.
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return kerr.InvalidTopicException
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return kerr.InvalidTopicException
		}
	}
	return nil
}

// isInternalTopic reports whether name is one of the names Kafka keeps for
// its internal topics (Topic.INTERNAL_TOPICS): group offsets, transaction
// state and share-group state. Skiff keeps group offsets in a Raft group of
// its own (RATIONALE.md) and has no such topics, but the names stay Kafka's:
// Metadata marks them internal, as Kafka does by name; they are never
// auto-created as ordinary topics (Kafka answers UNKNOWN_TOPIC_OR_PARTITION
// and creates its internal topic instead); Produce to them is refused with
// INVALID_TOPIC_EXCEPTION.
func isInternalTopic(name string) bool {
	switch name {
	case "__consumer_offsets", "__transaction_state", "__share_group_state":
		return true
	}
	return false
}
