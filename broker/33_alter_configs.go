package broker

import (
	"fmt"
	"maps"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs, key 33, versions 0-2.
//
// Replaces a topic's whole set of explicit configs (configs not named go
// back to their defaults), as Kafka's legacy AlterConfigs does. Every name
// and value is validated first; nothing changes if one is bad. Broker
// configs are static in Skiff (set them in skiff.yaml or with flags).

func init() { regKey(33, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := respFor[*kmsg.AlterConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		changes := map[string]*string{}
		for _, c := range rr.Configs {
			changes[c.Name] = c.Value
		}
		code, msg := b.alterTopicConfigs(rr.ResourceType, rr.ResourceName, changes, true, req.ValidateOnly)
		res.ErrorCode, res.ErrorMessage = code, msg
		resp.Resources = append(resp.Resources, res)
	}
	return reply{resp: resp}, nil
}

// alterTopicConfigs validates and applies config changes to a topic (nil
// value: back to default). replace drops configs not named.
func (b *Broker) alterTopicConfigs(typ kmsg.ConfigResourceType, name string, changes map[string]*string, replace, validateOnly bool) (int16, *string) {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		return kerr.InvalidRequest.Code, strp("Skiff's broker configs are static: set them in skiff.yaml, with flags or SKIFF_* variables, and restart")
	default:
		return kerr.InvalidRequest.Code, strp("unsupported resource type")
	}
	if b.topic(name) == nil {
		return kerr.UnknownTopicOrPartition.Code, strp("topic " + name + " does not exist")
	}
	smChange := false
	for k, v := range changes {
		if err := validateTopicConfig(k, v); err != nil {
			return kerr.InvalidConfig.Code, strp(err.Error())
		}
		smChange = smChange || strings.HasPrefix(k, "skiff.")
	}
	if t := b.topic(name); smChange || replace && hasSkiffConfig(t.meta.Configs) {
		next := map[string]string{}
		if !replace {
			maps.Copy(next, t.meta.Configs)
		}
		for k, v := range changes {
			if v == nil {
				delete(next, k)
			} else {
				next[k] = *v
			}
		}
		if next[cfgViewOf] != t.meta.Configs[cfgViewOf] {
			return kerr.InvalidConfig.Code, strp(cfgViewOf + " is set when a view is created and cannot change: delete the view and create it again")
		}
		if err := b.sm.checkTopicTransforms(b.ctx, name, next, false); err != nil {
			return kerr.InvalidConfig.Code, strp(err.Error())
		}
	}
	if validateOnly {
		return 0, nil
	}
	if err := b.ctrl.SetConfigs(name, changes, replace); err != nil {
		return errCode(err), strp(fmt.Sprintf("alter configs of %s: %v", name, err))
	}
	if err := b.reconcile(); err != nil {
		b.log.Error("reconcile after config change", "err", err)
	}
	return 0, nil
}

// hasSkiffConfig reports whether configs hold a SmartModule config, which
// AlterConfigs (replace all) would otherwise drop unchecked.
func hasSkiffConfig(configs map[string]string) bool {
	for k := range configs {
		if strings.HasPrefix(k, "skiff.") {
			return true
		}
	}
	return false
}
