package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics, key 20, versions 1-6 (Kafka 4.x floor is 1).
//
// Topics are named (v0-5) or named or identified by id (v6+). The topic
// leaves the metadata through the controller and its partitions' data is
// removed from disk with one range delete per partition before the answer.
// Committed offsets of the topic are removed from every consumer group.

func init() { regKey(20, 1, 6, handleDeleteTopics) }

func handleDeleteTopics(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := respFor[*kmsg.DeleteTopicsResponse](r)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if r.version >= 6 {
		for _, t := range req.Topics {
			targets = append(targets, target{t.Topic, t.TopicID})
		}
	} else {
		for _, n := range req.TopicNames {
			targets = append(targets, target{name: strp(n)})
		}
	}
	for _, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		var t *topicState
		var deps []string
		if tg.name != nil {
			t = b.topic(*tg.name)
		} else {
			t = b.view.Load().byID[tg.id]
		}
		if t != nil {
			deps = b.dependents(t.meta.Name)
		}
		switch {
		case t == nil && tg.name == nil:
			st.ErrorCode = kerr.UnknownTopicID.Code
		case t == nil:
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
		case len(deps) > 0:
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = strp(fmt.Sprintf("topic %s is read by %s: delete those first", t.meta.Name, strings.Join(deps, ", ")))
		default:
			st.Topic, st.TopicID = strp(t.meta.Name), t.meta.ID
			if err := b.ctrl.DeleteTopic(t.meta.Name); err != nil {
				st.ErrorCode = errCode(err)
				break
			}
			if err := b.reconcile(); err != nil {
				b.log.Error("reconcile after topic delete", "err", err)
			}
			b.groups.topicDeleted(t.meta.Name)
			b.log.Info("topic deleted", "topic", t.meta.Name)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return reply{resp: resp}, nil
}

// dependents names what reads a topic and would break without it: the views
// of it and the topic-to-topic transforms that read or write it.
func (b *Broker) dependents(topic string) []string {
	var out []string
	for name, t := range b.view.Load().byName {
		if t.meta.Configs[cfgViewOf] == topic {
			out = append(out, "view "+name)
		}
	}
	for name, d := range b.ctrl.Meta().Transforms {
		if d.Input == topic || slices.Contains(d.Outputs, topic) {
			out = append(out, "transform "+name)
		}
	}
	slices.Sort(out)
	return out
}
