package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs, key 32, versions 1-4 (Kafka 4.x floor is 1).
//
// TOPIC resources list every topic config Skiff knows with its value and
// source: DYNAMIC_TOPIC_CONFIG when set on the topic, else
// DEFAULT_CONFIG (or STATIC_BROKER_CONFIG when a broker setting supplies
// it), with synonyms (v1+: the override, then the broker configs that
// supply the default, as Kafka lists them) and type and documentation
// (v3+). BROKER resources list the node's static settings, read-only.

func init() { regKey(32, 1, 4, handleDescribeConfigs) }

const (
	srcDynamicTopic = int8(kmsg.ConfigSourceDynamicTopicConfig)
	srcStaticBroker = int8(kmsg.ConfigSourceStaticBrokerConfig)
	srcDefault      = int8(kmsg.ConfigSourceDefaultConfig)
)

func handleDescribeConfigs(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := respFor[*kmsg.DescribeConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t := b.topic(rr.ResourceName)
			if t == nil {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				res.ErrorMessage = strp("topic " + rr.ResourceName + " does not exist")
				break
			}
			res.Configs = b.describeTopicConfigs(t.meta.Configs, rr.ConfigNames, req.IncludeSynonyms, req.IncludeDocumentation)
		case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
			if rr.ResourceName != "" && rr.ResourceName != itoa(b.cfg.NodeID) {
				res.ErrorCode = kerr.InvalidRequest.Code
				res.ErrorMessage = strp("unknown broker " + rr.ResourceName)
				break
			}
			if rr.ResourceType == kmsg.ConfigResourceTypeBroker {
				res.Configs = b.describeBrokerConfigs(rr.ConfigNames)
			}
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
			res.ErrorMessage = strp("unsupported resource type")
		}
		resp.Resources = append(resp.Resources, res)
	}
	return reply{resp: resp}, nil
}

func wanted(names []string, name string) bool {
	if names == nil {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// describeTopicConfigs lists a topic's effective configs.
func (b *Broker) describeTopicConfigs(set map[string]string, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, d := range topicConfigs {
		if !wanted(names, d.name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name = d.name
		c.ConfigType = kmsg.ConfigType(d.typ)
		if docs {
			c.Documentation = strp(d.doc)
		}
		all := b.topicConfigSynonyms(d)
		if v, ok := set[d.name]; ok {
			override := kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{Name: d.name, Value: strp(v), Source: kmsg.ConfigSource(srcDynamicTopic)}
			all = append([]kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{override}, all...)
		}
		c.Value = strp(d.def(&b.cfg))
		c.Source = kmsg.ConfigSource(srcDefault)
		if len(all) > 0 {
			c.Value, c.Source = all[0].Value, all[0].Source
		}
		c.IsDefault = c.Source == kmsg.ConfigSource(srcDefault)
		if synonyms {
			c.ConfigSynonyms = all
		}
		out = append(out, c)
	}
	return out
}

// topicConfigSynonyms returns the broker-level synonyms of a topic config
// as Kafka's ConfigHelper lists them: the broker's own setting
// (STATIC_BROKER_CONFIG, when Skiff's differs from the default), then each
// synonym Kafka has a built-in default for (DEFAULT_CONFIG), all dropped
// unless the first synonym leads the list. So retention.ms, whose
// log.retention.ms has no default (log.retention.hours supplies it), has
// none until log.retention.ms is set.
func (b *Broker) topicConfigSynonyms(d configDef) []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	names := brokerSynonyms[d.name]
	if len(names) == 0 {
		return nil
	}
	var out []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	add := func(name, value string, src int8) {
		out = append(out, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{Name: name, Value: strp(value), Source: kmsg.ConfigSource(src)})
	}
	def, value := d.def(&defaultConfig), d.def(&b.cfg)
	if value != def {
		add(names[0], value, srcStaticBroker)
	}
	for i, name := range names {
		v, ok := synonymDefaults[name]
		switch {
		case !ok && i == 0:
			add(name, def, srcDefault)
		case ok && v != "":
			add(name, v, srcDefault)
		}
	}
	if len(out) == 0 || out[0].Name != names[0] {
		return nil
	}
	return out
}

var defaultConfig = DefaultConfig()

func (b *Broker) describeBrokerConfigs(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, bc := range b.brokerConfigs() {
		if !wanted(names, bc.name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ReadOnly = bc.name, strp(bc.value), true
		c.Source = kmsg.ConfigSource(srcStaticBroker)
		c.ConfigType = kmsg.ConfigTypeString
		out = append(out, c)
	}
	return out
}
