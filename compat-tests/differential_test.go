package compat_test

// Differential tests: each TestDifferential* scenario runs with the same
// franz-go code against Skiff (harness.Start) and Apache Kafka
// (reference.Launch, one broker shared by the whole test binary), and every
// observable answer is compared. A difference fails the test unless
// ACCEPTED_DIFFERENCES.md lists it with its reason, or knownBugs below names
// the Skiff bug behind it.
//
// The requests are probes (reference/probe) sent at the request versions
// both brokers support, so each broker sees the same request bytes.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/skiffstream/skiff/compat-tests/reference"
	"github.com/skiffstream/skiff/compat-tests/reference/probe"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const acceptedDifferencesFile = "ACCEPTED_DIFFERENCES.md"

// knownBugs maps "Scenario: observation" to the Skiff bug that makes Skiff
// answer differently from Kafka there. A scenario with only known bugs among
// its differences is skipped, naming them; remove the entry with the fix.
var knownBugs = map[string]string{}

// diffSharedKafka is the one reference Kafka of this test binary: Kafka takes
// 10-20 s to start on two cores, so every scenario uses the same one, each
// with topics and groups of its own. TestMain stops it.
var diffSharedKafka struct {
	once sync.Once
	k    *reference.Kafka
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if k := diffSharedKafka.k; k != nil {
		if err := k.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the reference Kafka: %v\n", err)
		}
	}
	os.Exit(code)
}

func diffKafka(t *testing.T) *reference.Kafka {
	t.Helper()
	diffSharedKafka.once.Do(func() {
		start := time.Now()
		diffSharedKafka.k, diffSharedKafka.err = reference.Launch(context.Background())
		if diffSharedKafka.err == nil {
			t.Logf("reference Kafka on %s ready in %v", diffSharedKafka.k.Addr(), time.Since(start).Round(time.Millisecond))
		}
	})
	if err := diffSharedKafka.err; err != nil {
		if errors.Is(err, reference.ErrUnavailable) && !reference.Strict() {
			t.Skipf("skipping: %v (set SKIFF_COMPAT_STRICT=1 to fail instead)", err)
		}
		t.Fatal(err)
	}
	return diffSharedKafka.k
}

// scenarioFunc runs one scenario against broker b and records what it saw.
type scenarioFunc func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations)

// differential runs scenario against Kafka, then against a fresh Skiff, and
// compares what both saw.
func differential(t *testing.T, scenario string, run scenarioFunc) {
	t.Helper()
	differentialRun(t, scenario, false, run)
}

// differentialConcurrent is differential with both brokers at once, for
// scenarios that wait on other processes (Kafka's tools, each a JVM start).
// run must not call t.Fatal and friends: they only work on the test's goroutine.
func differentialConcurrent(t *testing.T, scenario string, run scenarioFunc) {
	t.Helper()
	differentialRun(t, scenario, true, run)
}

func differentialRun(t *testing.T, scenario string, concurrent bool, run scenarioFunc) {
	t.Helper()
	accepted, err := reference.LoadAccepted(acceptedDifferencesFile)
	if err != nil {
		t.Fatal(err)
	}
	k := diffKafka(t)
	s := harness.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	vers := probe.CommonVersions(ctx, t, k.Addr(), s.Addr())
	kafka, skiff := reference.Observations{}, reference.Observations{}
	kb, sb := probe.NewBroker(t, "kafka", k.Addr(), vers), probe.NewBroker(t, "skiff", s.Addr(), vers)
	if concurrent {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx, t, kb, kafka)
		}()
		run(ctx, t, sb, skiff)
		wg.Wait()
	} else {
		run(ctx, t, kb, kafka)
		run(ctx, t, sb, skiff)
	}
	reference.Compare(t, scenario, kafka, skiff, accepted, knownBugs)
}

// TestDifferentialUnknownTopic: requests for a topic that does not exist,
// without auto-creation, and Metadata with auto-creation.
func TestDifferentialUnknownTopic(t *testing.T) {
	differential(t, "UnknownTopic", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		// Each probe has a topic of its own, so that a broker that creates
		// topics on first use shows that in the probe that did it.
		const topic = "diff-unknown-"
		o.Set("metadata", probe.ErrName(b.TopicMeta(ctx, t, topic+"metadata").ErrorCode))
		o.Set("produce", b.Produce(ctx, t, topic+"produce", [16]byte{}, 0, probe.Batch(probe.NoProducer, probe.Values(1, 10)...)))
		o.Set("metadata after produce", probe.ErrName(b.TopicMeta(ctx, t, topic+"produce").ErrorCode))
		o.Set("fetch by name (v12)", b.WithMax(t, 1, 12).FetchOne(ctx, t, topic+"fetch", [16]byte{}, 0, 0))
		o.Set("fetch by unknown topic ID", b.FetchOne(ctx, t, topic+"fetch-id", [16]byte{1, 2, 3}, 0, 0))
		o.Set("list offsets latest", b.ListOffset(ctx, t, topic+"list-offsets", 0, -1, -1))
		o.Set("describe configs", b.DescribeConfigsErr(ctx, t, topic+"describe-configs"))
		o.Set("delete topic", b.DeleteTopic(ctx, t, topic+"delete"))
		o.Set("create partitions", b.CreatePartitions(ctx, t, topic+"create-partitions", 3))

		// Metadata that may create the topic: Kafka runs with
		// auto.create.topics.enable=true and num.partitions=1, Skiff's defaults.
		const auto = "diff-auto-created"
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(auto)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = true
		if _, err := req.RequestWith(ctx, b.Cl); err != nil {
			t.Fatalf("%s: Metadata with auto-creation: %v", b.Name, err)
		}
		m := b.WaitLeaders(ctx, t, auto)
		o.Set("auto-created partitions", len(m.Partitions))
	})
}

// TestDifferentialBadPartition: a partition that does not exist, and fetch
// offsets outside the log.
func TestDifferentialBadPartition(t *testing.T) {
	differential(t, "BadPartition", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-bad-partition"
		b.MustCreateTopic(ctx, t, topic, 2, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		o.Set("produce to partition 0", b.Produce(ctx, t, topic, id, 0, probe.Batch(probe.NoProducer, probe.Values(3, 10)...)))
		o.Set("produce to partition 2", b.Produce(ctx, t, topic, id, 2, probe.Batch(probe.NoProducer, probe.Values(1, 10)...)))
		o.Set("produce to partition -1", b.Produce(ctx, t, topic, id, -1, probe.Batch(probe.NoProducer, probe.Values(1, 10)...)))
		o.Set("fetch partition 2", b.FetchOne(ctx, t, topic, id, 2, 0))
		o.Set("fetch partition 2 by name (v12)", b.WithMax(t, 1, 12).FetchOne(ctx, t, topic, id, 2, 0))
		o.Set("fetch offset 0", b.FetchOne(ctx, t, topic, id, 0, 0))
		o.Set("fetch at the end", b.FetchOne(ctx, t, topic, id, 0, 3))
		o.Set("fetch past the end", b.FetchOne(ctx, t, topic, id, 0, 100))
		o.Set("fetch offset -5", b.FetchOne(ctx, t, topic, id, 0, -5))
		o.Set("list offsets partition 2", b.ListOffset(ctx, t, topic, 2, -1, -1))
		o.Set("list offsets with leader epoch 999", b.ListOffset(ctx, t, topic, 0, -1, 999))
		o.Set("create partitions to 2 (same)", b.CreatePartitions(ctx, t, topic, 2))
		o.Set("create partitions to 1 (fewer)", b.CreatePartitions(ctx, t, topic, 1))
		o.Set("create partitions to 3", b.CreatePartitions(ctx, t, topic, 3))
	})
}

// TestDifferentialTooLarge: batches over the topic's max.message.bytes and
// over the broker default.
func TestDifferentialTooLarge(t *testing.T) {
	differential(t, "TooLarge", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const small, dflt = "diff-too-large-1000", "diff-too-large-default"
		b.MustCreateTopic(ctx, t, small, 1, map[string]*string{"max.message.bytes": probe.Str("1000")})
		b.MustCreateTopic(ctx, t, dflt, 1, nil)
		sid, did := b.TopicMeta(ctx, t, small).TopicID, b.TopicMeta(ctx, t, dflt).TopicID
		o.Set("900-byte batch, limit 1000", b.Produce(ctx, t, small, sid, 0, probe.Batch(probe.NoProducer, probe.Values(1, 830)...)))
		o.Set("1100-byte batch, limit 1000", b.Produce(ctx, t, small, sid, 0, probe.Batch(probe.NoProducer, probe.Values(1, 1030)...)))
		o.Set("2 batches of 600 bytes, limit 1000", b.Produce(ctx, t, small, sid, 0,
			append(probe.Batch(probe.NoProducer, probe.Values(1, 530)...), probe.Batch(probe.NoProducer, probe.Values(1, 530)...)...)))
		o.Set("1 MB batch, default limit", b.Produce(ctx, t, dflt, did, 0, probe.Batch(probe.NoProducer, probe.Values(1, 1000000)...)))
		o.Set("1.1 MB batch, default limit", b.Produce(ctx, t, dflt, did, 0, probe.Batch(probe.NoProducer, probe.Values(1, 1100000)...)))
		o.Set("end offset", b.ListOffset(ctx, t, small, 0, -1, -1))
	})
}

// TestDifferentialCreateTopics: CreateTopics errors, one topic per request.
func TestDifferentialCreateTopics(t *testing.T) {
	differential(t, "CreateTopics", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		create := func(topic string, partitions int32, rf int16, configs map[string]*string) string {
			return b.CreateTopic(ctx, t, topic, partitions, rf, configs)
		}
		o.Set("valid", create("diff-create", 2, 1, nil))
		o.Set("duplicate topic", create("diff-create", 2, 1, nil))
		o.Set("default partitions and replication factor", create("diff-create-defaults", -1, -1, nil))
		o.Set("default partitions: count", len(b.TopicMeta(ctx, t, "diff-create-defaults").Partitions))
		o.Set("replication factor 3 on one broker", create("diff-create-rf3", 1, 3, nil))
		o.Set("replication factor 0", create("diff-create-rf0", 1, 0, nil))
		o.Set("replication factor -2", create("diff-create-rf-2", 1, -2, nil))
		o.Set("0 partitions", create("diff-create-p0", 0, 1, nil))
		o.Set("-2 partitions", create("diff-create-p-2", -2, 1, nil))
		o.Set("name with a slash", create("diff/create", 1, 1, nil))
		o.Set("name ..", create("..", 1, 1, nil))
		o.Set("empty name", create("", 1, 1, nil))
		o.Set("name of 250 characters", create(strings.Repeat("n", 250), 1, 1, nil))
		o.Set("name of 249 characters", create(strings.Repeat("n", 249), 1, 1, nil))
		for _, c := range []struct{ name, value string }{
			{"retention.ms", "abc"},
			{"retention.ms", "-2"},
			{"cleanup.policy", "bogus"},
			{"compression.type", "brotli"},
			{"compression.type", "zstd"},
			{"max.message.bytes", "-5"},
			{"min.insync.replicas", "0"},
			{"message.timestamp.type", "WallClock"},
			{"no.such.config", "1"},
		} {
			topic := "diff-create-config-" + strings.ReplaceAll(c.name, ".", "-")
			o.Set(fmt.Sprintf("config %s=%s", c.name, c.value), create(topic, 1, 1, map[string]*string{c.name: probe.Str(c.value)}))
		}
		o.Set("config retention.ms=null", create("diff-create-null-config", 1, 1, map[string]*string{"retention.ms": nil}))

		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis, req.ValidateOnly = 10000, true
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "diff-create-validate-only", 1, 1
		req.Topics = append(req.Topics, rt)
		if resp, err := req.RequestWith(ctx, b.Cl); err != nil || len(resp.Topics) != 1 {
			o.Set("validate only", fmt.Sprintf("%v", err))
		} else {
			o.Set("validate only", probe.ErrName(resp.Topics[0].ErrorCode))
		}
		o.Set("validate only: metadata after", probe.ErrName(b.TopicMeta(ctx, t, "diff-create-validate-only").ErrorCode))

		req = kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 10000
		req.Topics = append(req.Topics, rt, rt)
		req.Topics[0].Topic, req.Topics[1].Topic = "diff-create-twice", "diff-create-twice"
		if resp, err := req.RequestWith(ctx, b.Cl); err != nil {
			o.Set("same topic twice in one request", probe.ErrOf(err))
		} else {
			var codes []string
			for _, rt := range resp.Topics {
				codes = append(codes, probe.ErrName(rt.ErrorCode))
			}
			o.Set("same topic twice in one request", strings.Join(codes, ", "))
		}

		o.Set("delete topic", b.DeleteTopic(ctx, t, "diff-create"))
		o.Set("delete topic again", b.DeleteTopic(ctx, t, "diff-create"))
	})
}

// TestDifferentialAlterConfigs: IncrementalAlterConfigs on a topic, good and bad.
func TestDifferentialAlterConfigs(t *testing.T) {
	differential(t, "AlterConfigs", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-alter-configs"
		b.MustCreateTopic(ctx, t, topic, 1, nil)
		alter := func(name string, value *string, op kmsg.IncrementalAlterConfigOp) string {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r := kmsg.NewIncrementalAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value, c.Op = name, value, op
			r.Configs = append(r.Configs, c)
			req.Resources = append(req.Resources, r)
			resp, err := req.RequestWith(ctx, b.Cl)
			if err != nil {
				return probe.ErrOf(err)
			}
			if len(resp.Resources) != 1 {
				return fmt.Sprintf("%d resources in the response", len(resp.Resources))
			}
			return probe.ErrName(resp.Resources[0].ErrorCode)
		}
		// Kafka applies a config change through its metadata log, so a
		// DescribeConfigs right after the change may still show the old value:
		// read until the value differs from the one before, for up to 3 s.
		last := map[string]string{
			"retention.ms":   b.DescribeConfig(ctx, t, topic, "retention.ms"),
			"cleanup.policy": b.DescribeConfig(ctx, t, topic, "cleanup.policy"),
		}
		changed := func(name string) string {
			deadline := time.Now().Add(3 * time.Second)
			for {
				v := b.DescribeConfig(ctx, t, topic, name)
				if v != last[name] || time.Now().After(deadline) {
					last[name] = v
					return v
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		set, del := kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete
		o.Set("set retention.ms=3600000", alter("retention.ms", probe.Str("3600000"), set))
		o.Set("retention.ms after set", changed("retention.ms"))
		o.Set("set retention.ms=abc", alter("retention.ms", probe.Str("abc"), set))
		o.Set("set cleanup.policy=bogus", alter("cleanup.policy", probe.Str("bogus"), set))
		o.Set("set no.such.config=1", alter("no.such.config", probe.Str("1"), set))
		o.Set("set retention.ms=null", alter("retention.ms", nil, set))
		o.Set("delete retention.ms", alter("retention.ms", nil, del))
		o.Set("retention.ms after delete", changed("retention.ms"))
		o.Set("delete no.such.config", alter("no.such.config", nil, del))
		o.Set("append cleanup.policy=compact", alter("cleanup.policy", probe.Str("compact"), kmsg.IncrementalAlterConfigOpAppend))
		o.Set("cleanup.policy after append", changed("cleanup.policy"))
		o.Set("subtract cleanup.policy=compact", alter("cleanup.policy", probe.Str("compact"), kmsg.IncrementalAlterConfigOpSubtract))
		o.Set("cleanup.policy after subtract", changed("cleanup.policy"))
	})
}

// TestDifferentialListOffsets: offsets by timestamp on the same batches, with
// timestamps out of order inside a batch and across batches.
func TestDifferentialListOffsets(t *testing.T) {
	differential(t, "ListOffsets", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-list-offsets"
		b.MustCreateTopic(ctx, t, topic, 1, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		for i, batch := range [][]probe.Rec{
			{at("a", 1000), at("b", 1001), at("c", 1002)}, // offsets 0-2
			{at("d", 5000), at("e", 3000)},                // offsets 3-4
			{at("f", 2000)},                               // offset 5
		} {
			o.Set(fmt.Sprintf("produce batch %d", i), b.Produce(ctx, t, topic, id, 0, probe.Batch(probe.NoProducer, batch...)))
		}
		for _, ts := range []int64{-1, -2, -3, -4, 0, 999, 1000, 1001, 1500, 2000, 2500, 3000, 4000, 5000, 5001} {
			o.Set(fmt.Sprintf("timestamp %d", ts), b.ListOffset(ctx, t, topic, 0, ts, -1))
		}
		b.MustCreateTopic(ctx, t, "diff-list-offsets-empty", 1, nil)
		for _, ts := range []int64{-1, -2, -3, 0} {
			o.Set(fmt.Sprintf("empty topic: timestamp %d", ts), b.ListOffset(ctx, t, "diff-list-offsets-empty", 0, ts, -1))
		}

		// Kafka 4 rejects timestamps more than message.timestamp.after.max.ms
		// (1 hour) ahead of the broker's clock.
		const future = "diff-list-offsets-future"
		b.MustCreateTopic(ctx, t, future, 1, nil)
		fid := b.TopicMeta(ctx, t, future).TopicID
		now := time.Now().UnixMilli()
		o.Set("produce timestamp 30 minutes ahead", b.Produce(ctx, t, future, fid, 0, probe.Batch(probe.NoProducer, at("a", now+30*60*1000))))
		o.Set("produce timestamp 2 hours ahead", b.Produce(ctx, t, future, fid, 0, probe.Batch(probe.NoProducer, at("b", now+2*3600*1000))))

		const lat = "diff-list-offsets-log-append-time"
		b.MustCreateTopic(ctx, t, lat, 1, map[string]*string{"message.timestamp.type": probe.Str("LogAppendTime")})
		before := time.Now().UnixMilli()
		p := b.Produce(ctx, t, lat, b.TopicMeta(ctx, t, lat).TopicID, 0, probe.Batch(probe.NoProducer, at("a", 1000)))
		o.Set("LogAppendTime topic: produce", p)
		o.Set("LogAppendTime topic: append time in the response is now", p.AppendTime >= before-1000 && p.AppendTime <= time.Now().UnixMilli()+1000)
		o.Set("LogAppendTime topic: timestamp 1000", strings.Fields(b.ListOffset(ctx, t, lat, 0, 1000, -1))[:2])
	})
}

// TestDifferentialDescribeConfigs: the configs of a topic with one override:
// names, probe.Values, sources, flags and synonyms.
func TestDifferentialDescribeConfigs(t *testing.T) {
	differential(t, "DescribeConfigs", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-describe-configs"
		b.MustCreateTopic(ctx, t, topic, 1, map[string]*string{"retention.ms": probe.Str("3600000")})
		req := kmsg.NewPtrDescribeConfigsRequest()
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		req.Resources = append(req.Resources, r)
		req.IncludeSynonyms = true
		resp, err := req.RequestWith(ctx, b.Cl)
		if err != nil || len(resp.Resources) != 1 {
			t.Fatalf("%s: DescribeConfigs: %v", b.Name, err)
		}
		res := resp.Resources[0]
		o.Set("error", probe.ErrName(res.ErrorCode))
		for _, c := range res.Configs {
			value := "null"
			if c.Value != nil {
				value = *c.Value
			}
			o.Set("config "+c.Name, fmt.Sprintf("value %q, source %s, read-only %v, sensitive %v, type %s",
				value, c.Source, c.ReadOnly, c.IsSensitive, c.ConfigType))
			var syn []string
			for _, s := range c.ConfigSynonyms {
				syn = append(syn, s.Name+" ("+s.Source.String()+")")
			}
			o.Set("config "+c.Name+": synonyms", syn)
		}

		req.Resources[0].ConfigNames = []string{"retention.ms", "no.such.config", "cleanup.policy"}
		resp, err = req.RequestWith(ctx, b.Cl)
		if err != nil || len(resp.Resources) != 1 {
			t.Fatalf("%s: DescribeConfigs by name: %v", b.Name, err)
		}
		var names []string
		for _, c := range resp.Resources[0].Configs {
			names = append(names, c.Name)
		}
		sort.Strings(names)
		o.Set("by name: error", probe.ErrName(resp.Resources[0].ErrorCode))
		o.Set("by name: configs", names)
	})
}

// TestDifferentialIdempotentProducer: sequence checks of an idempotent
// producer: duplicates, gaps, epoch bumps, unknown producer IDs.
func TestDifferentialIdempotentProducer(t *testing.T) {
	differential(t, "IdempotentProducer", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-idempotent"
		b.MustCreateTopic(ctx, t, topic, 1, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionTimeoutMillis = 60000
		resp, err := init.RequestWith(ctx, b.Cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("%s: InitProducerID: %v %s", b.Name, err, probe.ErrName(resp.ErrorCode))
		}
		o.Set("init producer ID: epoch", resp.ProducerEpoch)
		pid, epoch := resp.ProducerID, resp.ProducerEpoch
		send := func(what string, ps probe.Producer, vals ...string) {
			recs := make([]probe.Rec, len(vals))
			for i, v := range vals {
				recs[i] = at(v, time.Now().UnixMilli())
			}
			o.Set(what, b.Produce(ctx, t, topic, id, 0, probe.Batch(ps, recs...)))
		}
		p := func(epoch int16, seq int32) probe.Producer { return probe.Producer{ID: pid, Epoch: epoch, Seq: seq} }
		send("1. sequence 0-1", p(epoch, 0), "a", "b")
		send("2. sequence 0-1 again (duplicate of the last batch)", p(epoch, 0), "a", "b")
		send("3. sequence 5 (gap)", p(epoch, 5), "gap")
		send("4. sequence 2", p(epoch, 2), "c")
		send("5. sequence 0-1 again (duplicate of an older batch)", p(epoch, 0), "a", "b")
		send("6. sequence 1 (overlaps a batch)", p(epoch, 1), "b")
		send("7. sequence 3-4", p(epoch, 3), "d", "e")
		send("8. sequence 3-4 with other probe.Values (same sequences, different batch)", p(epoch, 3), "x", "y")
		send("9. next epoch, sequence 5 (gap after a bump)", p(epoch+1, 5), "f")
		send("10. next epoch, sequence 0", p(epoch+1, 0), "f")
		send("11. old epoch, sequence 5", p(epoch, 5), "g")
		send("12. unknown producer ID, sequence 0", probe.Producer{ID: pid + 1_000_000, Epoch: 0, Seq: 0}, "h")
		send("13. unknown producer ID, sequence 7", probe.Producer{ID: pid + 2_000_000, Epoch: 0, Seq: 7}, "i")
		o.Set("end offset", b.ListOffset(ctx, t, topic, 0, -1, -1))
	})
}

// TestDifferentialConsumerGroup: a classic group with one franz-go member:
// describe and lag while it is stable and after it leaves, and the answers
// for a group that does not exist.
func TestDifferentialConsumerGroup(t *testing.T) {
	differential(t, "ConsumerGroup", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic, group = "diff-group-topic", "diff-group"
		b.MustCreateTopic(ctx, t, topic, 3, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		for p := int32(0); p < 3; p++ {
			if got := b.Produce(ctx, t, topic, id, p, probe.Batch(probe.NoProducer, probe.Values(5, 10)...)); got.Err != "NONE" {
				t.Fatalf("%s: produce to partition %d: %s", b.Name, p, got)
			}
		}
		member := b.Client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ClientID("diff-client"),
			kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
		for n := 0; n < 15; {
			fs := member.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("%s: consumed %d of 15 records: %v", b.Name, n, err)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Logf("%s: fetch %s/%d: %v", b.Name, topic, p, err) })
			n += fs.NumRecords()
		}
		commit := map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 5}, 1: {Epoch: -1, Offset: 2}}}
		var commitErr error
		member.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
		})
		o.Set("commit", probe.ErrOf(commitErr))
		b.DescribeGroup(ctx, t, group, "stable", o)
		b.Lag(ctx, t, group, topic, "stable", o)
		member.Close()
		b.DescribeGroup(ctx, t, group, "after leave", o)
		b.Lag(ctx, t, group, topic, "after leave", o)
		b.ListGroup(ctx, t, group, o)
		b.DescribeGroup(ctx, t, "diff-no-such-group", "unknown group", o)
		b.Lag(ctx, t, "diff-no-such-group", topic, "unknown group", o)
		o.Set("delete group", b.DeleteGroup(ctx, t, group))
		o.Set("delete group again", b.DeleteGroup(ctx, t, group))
	})
}

// at is a record with value v and CreateTime ts.
func at(v string, ts int64) probe.Rec { return probe.Rec{Value: v, TS: ts} }

// TestDifferentialGroupProtocol: the classic group protocol by hand, with the
// errors a misbehaving member gets.
func TestDifferentialGroupProtocol(t *testing.T) {
	differential(t, "GroupProtocol", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic, group = "diff-group-protocol", "diff-group-protocol"
		b.MustCreateTopic(ctx, t, topic, 2, nil)
		join := func(group, member, protocolType string, session int32) probe.Joined {
			return b.JoinGroup(ctx, t, group, member, protocolType, topic, session)
		}
		o.Set("join: empty group ID", join("", "", "consumer", 10000))
		o.Set("join: session timeout 1 s", join(group, "", "consumer", 1000))
		o.Set("join: session timeout 1 hour", join(group, "", "consumer", 3600000))
		first := join(group, "", "consumer", 10000)
		o.Set("join: new member", first)
		j := join(group, first.MemberID, "consumer", 10000)
		o.Set("join: with the given member ID", j)
		member, gen := j.MemberID, j.Generation
		b.DescribeGroup(ctx, t, group, "before sync", o)
		o.Set("heartbeat before sync", b.Heartbeat(ctx, t, group, member, gen))
		o.Set("join: other protocol type", join(group, "", "connect", 10000))
		o.Set("sync: wrong generation", b.SyncGroup(ctx, t, group, member, gen+1, topic, 0, 1))
		o.Set("sync: unknown member", b.SyncGroup(ctx, t, group, "no-such-member", gen, topic, 0, 1))
		o.Set("sync", b.SyncGroup(ctx, t, group, member, gen, topic, 0, 1))
		o.Set("heartbeat", b.Heartbeat(ctx, t, group, member, gen))
		o.Set("heartbeat: wrong generation", b.Heartbeat(ctx, t, group, member, gen+1))
		o.Set("heartbeat: unknown member", b.Heartbeat(ctx, t, group, "no-such-member", gen))
		o.Set("heartbeat: unknown group", b.Heartbeat(ctx, t, "diff-no-such-group", member, gen))
		o.Set("commit", b.CommitOffset(ctx, t, group, member, gen, topic, 0, 1))
		o.Set("commit: wrong generation", b.CommitOffset(ctx, t, group, member, gen+1, topic, 0, 2))
		o.Set("commit: unknown member", b.CommitOffset(ctx, t, group, "no-such-member", gen, topic, 0, 2))
		o.Set("commit: from outside the group while it is stable", b.CommitOffset(ctx, t, group, "", -1, topic, 0, 2))
		o.Set("commit: unknown topic", b.CommitOffset(ctx, t, group, member, gen, "diff-no-such-topic", 0, 2))
		o.Set("commit: unknown partition", b.CommitOffset(ctx, t, group, member, gen, topic, 7, 2))
		o.Set("delete group while stable", b.DeleteGroup(ctx, t, group))
		b.DescribeGroup(ctx, t, group, "stable", o)
		o.Set("leave: unknown member", b.LeaveGroup(ctx, t, group, "no-such-member"))
		o.Set("leave", b.LeaveGroup(ctx, t, group, member))
		b.DescribeGroup(ctx, t, group, "after leave", o)
		o.Set("heartbeat after leave", b.Heartbeat(ctx, t, group, member, gen))
		o.Set("commit after leave, old member", b.CommitOffset(ctx, t, group, member, gen, topic, 0, 3))
		o.Set("commit after leave, from outside", b.CommitOffset(ctx, t, group, "", -1, topic, 0, 4))
		b.Lag(ctx, t, group, topic, "end", o)
	})
}

// TestDifferentialRecords: DeleteRecords, OffsetForLeaderEpoch and the
// checks a broker makes on the batches it is sent.
func TestDifferentialRecords(t *testing.T) {
	differential(t, "Records", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-records"
		b.MustCreateTopic(ctx, t, topic, 1, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		for i := range 2 {
			o.Set(fmt.Sprintf("produce %d", i), b.Produce(ctx, t, topic, id, 0, probe.Batch(probe.NoProducer, probe.Values(5, 10)...)))
		}
		// Leader epochs are numbered differently (Skiff's come from Raft
		// terms), so the probes ask relative to the partition's own.
		epoch := b.TopicMeta(ctx, t, topic).Partitions[0].LeaderEpoch
		relative := func(s string) string {
			for d := int32(0); d <= 5; d++ {
				s = strings.ReplaceAll(s, fmt.Sprintf("leader epoch %d ", epoch+d), fmt.Sprintf("leader epoch current%+d ", d))
			}
			return strings.ReplaceAll(s, "current+0", "current")
		}
		o.Set("current epoch end", relative(b.EpochEnd(ctx, t, topic, 0, epoch)))
		o.Set("epoch current+5 end", relative(b.EpochEnd(ctx, t, topic, 0, epoch+5)))
		o.Set("epoch end, unknown partition", b.EpochEnd(ctx, t, topic, 3, epoch))
		o.Set("delete records before 3", b.DeleteRecords(ctx, t, topic, 0, 3))
		o.Set("earliest after delete", b.ListOffset(ctx, t, topic, 0, -2, -1))
		o.Set("fetch 0 after delete", b.FetchOne(ctx, t, topic, id, 0, 0))
		o.Set("fetch 3 after delete", b.FetchOne(ctx, t, topic, id, 0, 3))
		o.Set("delete records before 2 (already gone)", b.DeleteRecords(ctx, t, topic, 0, 2))
		o.Set("delete records before 20 (past the end)", b.DeleteRecords(ctx, t, topic, 0, 20))
		o.Set("delete records, unknown partition", b.DeleteRecords(ctx, t, topic, 3, 1))
		o.Set("delete all records (-1)", b.DeleteRecords(ctx, t, topic, 0, -1))
		o.Set("fetch 10 after deleting all", b.FetchOne(ctx, t, topic, id, 0, 10))

		o.Set("acks 2", b.ProduceAcks(ctx, t, topic, id, 0, 2, probe.Batch(probe.NoProducer, probe.Values(1, 10)...)))

		// Broken batches go to a topic of their own, so that one a broker
		// takes shows in that topic's end offset and nowhere else.
		const broken = "diff-records-broken"
		b.MustCreateTopic(ctx, t, broken, 1, nil)
		bid := b.TopicMeta(ctx, t, broken).TopicID
		good := probe.Batch(probe.NoProducer, probe.Values(2, 10)...)
		bad := func(what string, batch []byte) {
			o.Set("batch: "+what, b.Produce(ctx, t, broken, bid, 0, batch))
		}
		crc := append([]byte(nil), good...)
		crc[len(crc)-1] ^= 0xff
		bad("CRC mismatch", crc)
		magic := append([]byte(nil), good...)
		magic[probe.BatchMagicAt] = 1
		bad("magic 1", probe.Recrc(magic))
		count := append([]byte(nil), good...)
		count[probe.BatchNumRecordsAt+3] = 3
		bad("record count 3 for 2 records", probe.Recrc(count))
		bad("gzip attribute on uncompressed records", probe.WithAttributes(good, 1))
		bad("codec 7", probe.WithAttributes(good, 7))
		bad("transactional without a transaction", probe.WithAttributes(good, 1<<4))
		bad("control batch", probe.WithAttributes(good, 1<<5))
		bad("truncated", good[:len(good)-3])
		o.Set("broken batches: end offset", b.ListOffset(ctx, t, broken, 0, -1, -1))

		const compacted = "diff-records-compacted"
		b.MustCreateTopic(ctx, t, compacted, 1, map[string]*string{"cleanup.policy": probe.Str("compact")})
		cid := b.TopicMeta(ctx, t, compacted).TopicID
		now := time.Now().UnixMilli()
		o.Set("compacted topic: record with a key", b.Produce(ctx, t, compacted, cid, 0, probe.Batch(probe.NoProducer, probe.Rec{Key: "k", Value: "v", TS: now})))
		o.Set("compacted topic: record without a key", b.Produce(ctx, t, compacted, cid, 0, probe.Batch(probe.NoProducer, probe.Rec{Value: "v", TS: now})))
	})
}

// TestDifferentialTools: Kafka's own command-line tools (from the same
// Maven artifacts as the reference broker) against both brokers: topics,
// console producer and consumer, consumer groups, producer perf test.
func TestDifferentialTools(t *testing.T) {
	differentialConcurrent(t, "Tools", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic, group = "diff-tools", "diff-tools-group"
		tool := func(what, stdin, name string, args ...string) []string {
			t.Helper()
			var out strings.Builder
			cmd := reference.Tool(ctx, name, append([]string{"--bootstrap-server", b.Addr}, args...)...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &out
			err := cmd.Run()
			exit := "exit 0"
			if err != nil {
				exit = err.Error()
				t.Logf("%s: %s %s: %v\n%s", b.Name, name, strings.Join(args, " "), err, out.String())
			}
			o.Set(what+": exit", exit)
			return strings.Split(strings.TrimSpace(out.String()), "\n")
		}
		lines := tool("create topic", "", "kafka-topics", "--create", "--topic", topic, "--partitions", "3", "--replication-factor", "1")
		o.Set("create topic: output", lines)
		for _, line := range tool("describe topic", "", "kafka-topics", "--describe", "--topic", topic) {
			fields := strings.Split(strings.TrimSpace(line), "\t")
			if len(fields) > 1 && strings.HasPrefix(fields[1], "TopicId:") { // the header line
				o.Set("describe topic: header", []string{fields[2], fields[3]})
				o.Set("describe topic: configs", fields[4:])
				continue
			}
			if len(fields) > 1 && strings.HasPrefix(fields[1], "Partition: ") {
				var replicas, elr []string
				for _, f := range fields[2:] {
					if strings.Contains(f, "Elr:") {
						elr = append(elr, f)
					} else {
						replicas = append(replicas, f)
					}
				}
				o.Set("describe topic: "+fields[1], replicas)
				o.Set("describe topic: ELR columns", elr)
			}
		}

		var in strings.Builder
		for i := range 12 {
			fmt.Fprintf(&in, "key%d:value%d\n", i, i)
		}
		tool("console producer", in.String(), "kafka-console-producer", "--topic", topic,
			"--property", "parse.key=true", "--property", "key.separator=:")
		consumed := tool("console consumer", "", "kafka-console-consumer", "--topic", topic, "--group", group,
			"--from-beginning", "--max-messages", "12", "--timeout-ms", "20000")
		var values []string
		for _, line := range consumed {
			if strings.HasPrefix(line, "value") {
				values = append(values, line)
			}
		}
		sort.Strings(values)
		o.Set("console consumer: values", values)
		for _, line := range tool("describe group", "", "kafka-consumer-groups", "--describe", "--group", group) {
			fields := strings.Fields(line)
			if len(fields) == 9 && fields[0] == group {
				o.Set("describe group: partition "+fields[2], fields[3:])
			}
		}
		perf := tool("producer perf test", "", "kafka-producer-perf-test", "--topic", topic, "--num-records", "2000",
			"--record-size", "100", "--throughput", "-1", "--producer-props", "bootstrap.servers="+b.Addr, "acks=all")
		o.Set("producer perf test: sent all", slicesContains(perf, "2000 records sent"))
	})
}

// slicesContains reports whether a line of lines contains s.
func slicesContains(lines []string, s string) bool {
	for _, line := range lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// TestDifferentialFetch: what a Fetch returns under byte limits, isolation
// levels and minimum sizes.
func TestDifferentialFetch(t *testing.T) {
	differential(t, "Fetch", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-fetch"
		b.MustCreateTopic(ctx, t, topic, 1, nil)
		id := b.TopicMeta(ctx, t, topic).TopicID
		for i := range 3 {
			o.Set(fmt.Sprintf("produce %d", i), b.Produce(ctx, t, topic, id, 0, probe.Batch(probe.NoProducer, probe.Values(5, 100)...)))
		}
		fetch := func(what string, offset int64, opts probe.FetchOpts) time.Duration {
			start := time.Now()
			o.Set(what, b.Fetch(ctx, t, topic, id, 0, offset, opts))
			return time.Since(start)
		}
		fetch("max bytes 100 (less than a batch)", 0, probe.FetchOpts{MaxBytes: 100})
		fetch("partition max bytes 100", 0, probe.FetchOpts{PartitionMaxBytes: 100})
		fetch("max bytes 1000 (one and a half batches)", 0, probe.FetchOpts{MaxBytes: 1000})
		fetch("from offset 2, inside the first batch", 2, probe.FetchOpts{})
		fetch("read committed", 0, probe.FetchOpts{ReadCommitted: true})
		took := fetch("at the end, min bytes 1 MiB, max wait 400 ms", 15, probe.FetchOpts{MinBytes: 1 << 20, MaxWaitMillis: 400})
		o.Set("at the end, min bytes 1 MiB, max wait 400 ms: waited", took >= 300*time.Millisecond)
		took = fetch("from 0, min bytes 1 MiB, max wait 400 ms", 0, probe.FetchOpts{MinBytes: 1 << 20, MaxWaitMillis: 400})
		o.Set("from 0, min bytes 1 MiB, max wait 400 ms: waited", took >= 300*time.Millisecond)
		took = fetch("at the end, max wait 0", 15, probe.FetchOpts{MaxWaitMillis: -1})
		o.Set("at the end, max wait 0: answered at once", took < 300*time.Millisecond)
	})
}

// TestDifferentialMetadata: the cluster as Metadata, DescribeCluster and
// ApiVersions show it.
func TestDifferentialMetadata(t *testing.T) {
	differential(t, "Metadata", func(ctx context.Context, t *testing.T, b *probe.Broker, o reference.Observations) {
		const topic = "diff-metadata"
		b.MustCreateTopic(ctx, t, topic, 2, nil)
		req := kmsg.NewPtrMetadataRequest() // nil Topics: all of them
		req.IncludeTopicAuthorizedOperations = true
		resp, err := req.RequestWith(ctx, b.Cl)
		if err != nil {
			t.Fatalf("%s: Metadata: %v", b.Name, err)
		}
		o.Set("brokers", len(resp.Brokers))
		for _, br := range resp.Brokers {
			o.Set("broker address is the bootstrap address", fmt.Sprintf("%s:%d", br.Host, br.Port) == b.Addr)
			o.Set("broker rack", br.Rack)
			o.Set("controller is the broker", resp.ControllerID == br.NodeID)
		}
		clusterID := ""
		if resp.ClusterID != nil {
			clusterID = *resp.ClusterID
		}
		o.Set("cluster ID length", len(clusterID))
		for _, mt := range resp.Topics {
			if mt.Topic == nil || *mt.Topic != topic {
				continue
			}
			o.Set("topic: error", probe.ErrName(mt.ErrorCode))
			o.Set("topic: internal", mt.IsInternal)
			o.Set("topic: authorized operations", mt.AuthorizedOperations)
			for _, p := range mt.Partitions {
				o.Set(fmt.Sprintf("topic: partition %d", p.Partition), fmt.Sprintf("%s, %d replicas, %d in sync, %d offline",
					probe.ErrName(p.ErrorCode), len(p.Replicas), len(p.ISR), len(p.OfflineReplicas)))
			}
		}
		o.Set("invalid topic name", probe.ErrName(b.TopicMeta(ctx, t, "diff/metadata").ErrorCode))

		dcReq := kmsg.NewPtrDescribeClusterRequest()
		dcReq.IncludeClusterAuthorizedOperations = true
		dc, err := dcReq.RequestWith(ctx, b.Cl)
		if err != nil {
			t.Fatalf("%s: DescribeCluster: %v", b.Name, err)
		}
		o.Set("describe cluster: error", probe.ErrName(dc.ErrorCode))
		o.Set("describe cluster: same cluster ID", dc.ClusterID == clusterID)
		o.Set("describe cluster: brokers", len(dc.Brokers))
		o.Set("describe cluster: cluster authorized operations", dc.ClusterAuthorizedOperations)

		av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, b.Cl)
		if err != nil {
			t.Fatalf("%s: ApiVersions: %v", b.Name, err)
		}
		for _, k := range av.ApiKeys {
			if k.ApiKey == 0 {
				o.Set("api versions: Produce min version", k.MinVersion)
			}
		}
	})
}
