package probe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopic sends one CreateTopics request for topic and returns the
// topic's error code name; on success it waits until every partition has a
// leader.
func (b *Broker) CreateTopic(ctx context.Context, t testing.TB, topic string, partitions int32, rf int16, configs map[string]*string) string {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
	for _, name := range sortedKeys(configs) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = name, configs[name]
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		t.Fatalf("%s: CreateTopics %s: %v", b.Name, topic, err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: CreateTopics %s: %d topics in the response, want 1", b.Name, topic, len(resp.Topics))
	}
	code := resp.Topics[0].ErrorCode
	if code == 0 {
		b.WaitLeaders(ctx, t, topic)
	}
	return ErrName(code)
}

func (b *Broker) MustCreateTopic(ctx context.Context, t testing.TB, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	if got := b.CreateTopic(ctx, t, topic, partitions, 1, configs); got != "NONE" {
		t.Fatalf("%s: create topic %s: %s", b.Name, topic, got)
	}
}

// TopicMeta is what Metadata says about one topic, without auto-creation.
func (b *Broker) TopicMeta(ctx context.Context, t testing.TB, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = false
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		t.Fatalf("%s: Metadata %s: %v", b.Name, topic, err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: Metadata %s: %d topics in the response, want 1", b.Name, topic, len(resp.Topics))
	}
	return resp.Topics[0]
}

// WaitLeaders polls Metadata until topic exists and each partition has a leader.
func (b *Broker) WaitLeaders(ctx context.Context, t testing.TB, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := b.TopicMeta(ctx, t, topic)
		ready := m.ErrorCode == 0 && len(m.Partitions) > 0
		for _, p := range m.Partitions {
			ready = ready && p.ErrorCode == 0 && p.Leader >= 0
		}
		// Kafka's Metadata may name a leader a moment before that broker
		// serves the partition: wait until ListOffsets answers too.
		for _, p := range m.Partitions {
			ready = ready && !strings.HasPrefix(b.ListOffset(ctx, t, topic, p.Partition, -1, -1), "NOT_LEADER")
		}
		if ready {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: topic %s has no leader for every partition after 15s: %s", b.Name, topic, ErrName(m.ErrorCode))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *Broker) DeleteTopic(ctx context.Context, t testing.TB, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.TopicNames = []string{topic}
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Topics) != 1 {
		return ErrOf(err)
	}
	return ErrName(resp.Topics[0].ErrorCode)
}

func (b *Broker) CreatePartitions(ctx context.Context, t testing.TB, topic string, count int32) string {
	t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Topics) != 1 {
		return ErrOf(err)
	}
	return ErrName(resp.Topics[0].ErrorCode)
}

// DescribeConfigsErr is the error of DescribeConfigs for a topic.
func (b *Broker) DescribeConfigsErr(ctx context.Context, t testing.TB, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Resources) != 1 {
		return ErrOf(err)
	}
	return ErrName(resp.Resources[0].ErrorCode)
}

// DescribeConfig is "VALUE (SOURCE)" of one topic config.
func (b *Broker) DescribeConfig(ctx context.Context, t testing.TB, topic, name string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{name}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil || len(resp.Resources) != 1 {
		return ErrOf(err)
	}
	for _, c := range resp.Resources[0].Configs {
		if c.Name == name && c.Value != nil {
			return fmt.Sprintf("%s (%s)", *c.Value, c.Source)
		}
	}
	return "absent"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func Str(s string) *string { return &s }
