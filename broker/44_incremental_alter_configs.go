package broker

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// IncrementalAlterConfigs, key 44, versions 0-1.
//
// SET and DELETE change one config each; APPEND and SUBTRACT apply to list
// configs (cleanup.policy). Configs not named keep their values. A resource
// naming the same config twice is INVALID_REQUEST, as in Kafka.

func init() { regKey(44, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := respFor[*kmsg.IncrementalAlterConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		changes := map[string]*string{}
		var current map[string]string
		if t := b.topic(rr.ResourceName); t != nil {
			current = t.meta.Configs
		}
		for _, c := range rr.Configs {
			if _, dup := changes[c.Name]; dup {
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, strp("config "+c.Name+" is named twice")
				break
			}
			switch c.Op {
			case kmsg.IncrementalAlterConfigOpSet:
				changes[c.Name] = c.Value
				if c.Value == nil {
					res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, strp("SET of "+c.Name+" needs a value")
				}
			case kmsg.IncrementalAlterConfigOpDelete:
				changes[c.Name] = nil
			case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
				d, ok := findTopicConfig(c.Name)
				if !ok || d.typ != ctList || c.Value == nil {
					res.ErrorCode, res.ErrorMessage = kerr.InvalidConfig.Code, strp("APPEND and SUBTRACT apply to list configs only")
					break
				}
				cur, has := current[c.Name]
				if !has {
					cur = d.def(&b.cfg)
				}
				v := editList(cur, *c.Value, c.Op == kmsg.IncrementalAlterConfigOpAppend)
				changes[c.Name] = &v
			default:
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, strp("unknown config operation")
			}
		}
		if res.ErrorCode == 0 {
			res.ErrorCode, res.ErrorMessage = b.alterTopicConfigs(rr.ResourceType, rr.ResourceName, changes, false, req.ValidateOnly)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return reply{resp: resp}, nil
}

// editList appends or removes the comma-separated items of change.
func editList(cur, change string, add bool) string {
	var items []string
	have := map[string]bool{}
	for _, s := range strings.Split(cur, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
			have[s] = true
		}
	}
	for _, s := range strings.Split(change, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case add && !have[s]:
			items = append(items, s)
			have[s] = true
		case !add && have[s]:
			for i, it := range items {
				if it == s {
					items = append(items[:i], items[i+1:]...)
					break
				}
			}
			delete(have, s)
		}
	}
	return strings.Join(items, ",")
}
