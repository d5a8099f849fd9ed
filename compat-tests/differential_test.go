package compat_test

// Differential tests: each TestDifferential* scenario runs with the same
// franz-go code against Skiff (harness.Start) and Apache Kafka
// (reference.Launch, one diffBroker shared by the whole test binary), and every
// observable answer is compared. A difference fails the test unless
// ACCEPTED_DIFFERENCES.md lists it with its reason, or knownBugs below names
// the Skiff bug behind it.
//
// Both clients are capped to the request versions both brokers support, so
// each diffBroker sees the same request bytes.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/skiffstream/skiff/compat-tests/reference"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

const acceptedDifferencesFile = "ACCEPTED_DIFFERENCES.md"

// knownBugs maps "Scenario: observation" to the Skiff bug that makes Skiff
// answer differently from Kafka there. A scenario with only known bugs among
// its differences is skipped, naming them; remove the entry with the fix.
var knownBugs = map[string]string{
	"ListOffsets: produce timestamp 2 hours ahead": "Skiff does not enforce message.timestamp.after.max.ms, " +
		"whose default is 3600000 in Kafka 4 (Skiff: Long.MAX_VALUE); Kafka rejects the batch with INVALID_TIMESTAMP",
	"DescribeConfigs: config message.timestamp.after.max.ms": "Skiff's default for message.timestamp.after.max.ms " +
		"is Long.MAX_VALUE; Kafka 4's is 3600000 (broker/config.go topicConfigs)",
	"DescribeConfigs: config *: synonyms": "DescribeConfigs synonyms: Kafka lists the broker-level synonym (or the " +
		"config itself) with DEFAULT_CONFIG for every topic config; Skiff's brokerSynonym map has 5 entries, and for an " +
		"override of retention.ms Skiff adds log.retention.ms (DEFAULT_CONFIG), which Kafka leaves out",
	"CreateTopics: config retention.ms=null": "CreateTopics accepts a config entry with a null value; Kafka " +
		"answers INVALID_CONFIG",
	"CreateTopics: same topic twice in one request": "a CreateTopics request naming a topic twice gets one " +
		"response entry (INVALID_REQUEST) from Kafka, two from Skiff",
	"AlterConfigs: delete no.such.config": "IncrementalAlterConfigs DELETE of an unknown topic config name " +
		"succeeds on Kafka (NONE); Skiff answers INVALID_CONFIG",
}

// diffSharedKafka is the one reference diffBroker of this test binary: Kafka takes
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

// diffBroker is one side of a differential test.
type diffBroker struct {
	name string // "kafka" or "skiff"
	addr string
	cl   *kgo.Client
	vers *kversion.Versions // request versions both brokers support
}

// client returns a new client for b, capped to the common versions.
func (b *diffBroker) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(b.addr), kgo.MaxVersions(b.vers), kgo.MetadataMinAge(50 * time.Millisecond)}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("%s: franz-go client: %v", b.name, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// differential runs scenario against Kafka, then against a fresh Skiff, and
// compares what both saw.
func differential(t *testing.T, scenario string, run func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations)) {
	t.Helper()
	accepted, err := reference.LoadAccepted(acceptedDifferencesFile)
	if err != nil {
		t.Fatal(err)
	}
	k := diffKafka(t)
	s := harness.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	vers := diffVersions(ctx, t, k.Addr(), s.Addr())
	kafka := &diffBroker{name: "kafka", addr: k.Addr(), vers: vers}
	skiff := &diffBroker{name: "skiff", addr: s.Addr(), vers: vers}
	got := map[string]reference.Observations{}
	for _, b := range []*diffBroker{kafka, skiff} {
		b.cl = b.client(t)
		o := reference.Observations{}
		run(ctx, t, b, o)
		got[b.name] = o
	}
	reference.Compare(t, scenario, got["kafka"], got["skiff"], accepted, knownBugs)
}

// diffVersions asks both brokers for their ApiVersions and keeps, for each
// key both serve, the lower of the two maximum versions.
func diffVersions(ctx context.Context, t *testing.T, addrs ...string) *kversion.Versions {
	t.Helper()
	var all []*kversion.Versions
	for _, addr := range addrs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
		cl.Close()
		if err != nil {
			t.Fatalf("ApiVersions to %s: %v", addr, err)
		}
		all = append(all, kversion.FromApiVersionsResponse(resp))
	}
	common := kversion.FromApiVersionsResponse(&kmsg.ApiVersionsResponse{})
	all[0].EachMaxKeyVersion(func(key, v int16) {
		for _, other := range all[1:] {
			ov, ok := other.LookupMaxKeyVersion(key)
			if !ok {
				return
			}
			v = min(v, ov)
		}
		common.SetMaxKeyVersion(key, v)
	})
	return common
}

// diffErr is the protocol name of a Kafka error code, "NONE" for 0.
func diffErr(code int16) string {
	if code == 0 {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return fmt.Sprintf("error code %d", code)
}

// diffErrOf names a request error the same way on both brokers: the Kafka error
// name, or "request failed" (a closed connection, a timeout).
func diffErrOf(err error) string {
	if err == nil {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return "request failed"
}

// createTopic sends one CreateTopics request for topic and returns the
// topic's error code name; on success it waits until every partition has a
// leader.
func (b *diffBroker) createTopic(ctx context.Context, t *testing.T, topic string, partitions int32, rf int16, configs map[string]*string) string {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
	for _, name := range diffSortedKeys(configs) {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = name, configs[name]
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		t.Fatalf("%s: CreateTopics %s: %v", b.name, topic, err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: CreateTopics %s: %d topics in the response, want 1", b.name, topic, len(resp.Topics))
	}
	code := resp.Topics[0].ErrorCode
	if code == 0 {
		b.waitLeaders(ctx, t, topic)
	}
	return diffErr(code)
}

func (b *diffBroker) mustCreateTopic(ctx context.Context, t *testing.T, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	if got := b.createTopic(ctx, t, topic, partitions, 1, configs); got != "NONE" {
		t.Fatalf("%s: create topic %s: %s", b.name, topic, got)
	}
}

// topicMeta is what Metadata says about one topic, without auto-creation.
func (b *diffBroker) topicMeta(ctx context.Context, t *testing.T, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = false
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		t.Fatalf("%s: Metadata %s: %v", b.name, topic, err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: Metadata %s: %d topics in the response, want 1", b.name, topic, len(resp.Topics))
	}
	return resp.Topics[0]
}

// waitLeaders polls Metadata until topic exists and each partition has a leader.
func (b *diffBroker) waitLeaders(ctx context.Context, t *testing.T, topic string) kmsg.MetadataResponseTopic {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := b.topicMeta(ctx, t, topic)
		ready := m.ErrorCode == 0 && len(m.Partitions) > 0
		for _, p := range m.Partitions {
			ready = ready && p.ErrorCode == 0 && p.Leader >= 0
		}
		// Kafka's Metadata may name a leader a moment before that broker
		// serves the partition: wait until ListOffsets answers too.
		for _, p := range m.Partitions {
			ready = ready && !strings.HasPrefix(b.listOffset(ctx, t, topic, p.Partition, -1, -1), "NOT_LEADER")
		}
		if ready {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: topic %s has no leader for every partition after 15s: %s", b.name, topic, diffErr(m.ErrorCode))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// diffProduced is one partition's answer to a Produce request.
type diffProduced struct {
	err        string
	baseOffset int64
	appendTime int64
}

// produce sends batch to topic/partition with acks=all. id is the topic ID
// (zero for a topic that does not exist).
func (b *diffBroker) produce(ctx context.Context, t *testing.T, topic string, id [16]byte, partition int32, batch []byte) diffProduced {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		return diffProduced{err: diffErrOf(err)}
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return diffProduced{err: fmt.Sprintf("%d topics in the response", len(resp.Topics))}
	}
	p := resp.Topics[0].Partitions[0]
	return diffProduced{err: diffErr(p.ErrorCode), baseOffset: p.BaseOffset, appendTime: p.LogAppendTime}
}

func (p diffProduced) String() string {
	if p.err != "NONE" {
		return p.err
	}
	return fmt.Sprintf("NONE at offset %d", p.baseOffset)
}

// diffRec is one record of a test batch.
type diffRec struct {
	value string
	ts    int64 // CreateTime in milliseconds
}

// diffProducer is what an idempotent batch carries; diffNoProducer is a plain one.
type diffProducer struct {
	id    int64
	epoch int16
	seq   int32
}

var diffNoProducer = diffProducer{id: -1, epoch: -1, seq: -1}

// diffBatch encodes an uncompressed v2 record batch with null keys.
func diffBatch(ps diffProducer, recs ...diffRec) []byte {
	var records []byte
	first, maxTs := recs[0].ts, recs[0].ts
	for _, r := range recs {
		first, maxTs = min(first, r.ts), max(maxTs, r.ts)
	}
	for i, r := range recs {
		kr := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: r.ts - first, Value: []byte(r.value)}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // everything after the 1-byte varint 0
		records = kr.AppendTo(records)
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       first,
		MaxTimestamp:         maxTs,
		ProducerID:           ps.id,
		ProducerEpoch:        ps.epoch,
		FirstSequence:        ps.seq,
		NumRecords:           int32(len(recs)),
		Records:              records,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// diffValues makes n records of the given size stamped now.
func diffValues(n, size int) []diffRec {
	now := time.Now().UnixMilli()
	recs := make([]diffRec, n)
	for i := range recs {
		recs[i] = diffRec{value: strings.Repeat("x", size), ts: now}
	}
	return recs
}

// listOffset asks for the offset of partition at timestamp ts (or a special
// value: -1 latest, -2 earliest, -3 max timestamp).
func (b *diffBroker) listOffset(ctx context.Context, t *testing.T, topic string, partition int32, ts int64, leaderEpoch int32) string {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, ts, leaderEpoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		return diffErrOf(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return diffErr(p.ErrorCode)
	}
	return fmt.Sprintf("offset %d timestamp %d", p.Offset, p.Timestamp)
}

// fetchOne fetches partition from offset and returns the error and high
// watermark, or the record count when fetched.
func (b *diffBroker) fetchOne(ctx context.Context, t *testing.T, topic string, id [16]byte, partition int32, offset int64) string {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 100, 1, 1<<20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		return diffErrOf(err)
	}
	if resp.ErrorCode != 0 {
		return "top level " + diffErr(resp.ErrorCode)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return diffErr(p.ErrorCode)
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: topic, Partition: partition, Offset: offset, KeepControlRecords: true}, &p, kgo.DefaultDecompressor(), nil)
	return fmt.Sprintf("NONE, %d records, high watermark %d", len(fp.Records), p.HighWatermark)
}

func diffSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func diffStr(s string) *string { return &s }

// TestDifferentialUnknownTopic: requests for a topic that does not exist,
// without auto-creation, and Metadata with auto-creation.
func TestDifferentialUnknownTopic(t *testing.T) {
	differential(t, "UnknownTopic", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		// Each probe has a topic of its own, so that a diffBroker that creates
		// topics on first use shows that in the probe that did it.
		const topic = "diff-unknown-"
		o.Set("metadata", diffErr(b.topicMeta(ctx, t, topic+"metadata").ErrorCode))
		o.Set("produce", b.produce(ctx, t, topic+"produce", [16]byte{}, 0, diffBatch(diffNoProducer, diffValues(1, 10)...)))
		o.Set("metadata after produce", diffErr(b.topicMeta(ctx, t, topic+"produce").ErrorCode))
		o.Set("fetch by name (v12)", b.withMax(t, 1, 12).fetchOne(ctx, t, topic+"fetch", [16]byte{}, 0, 0))
		o.Set("fetch by unknown topic ID", b.fetchOne(ctx, t, topic+"fetch-id", [16]byte{1, 2, 3}, 0, 0))
		o.Set("list offsets latest", b.listOffset(ctx, t, topic+"list-offsets", 0, -1, -1))
		o.Set("describe configs", b.describeConfigsErr(ctx, t, topic+"describe-configs"))
		o.Set("delete topic", b.deleteTopic(ctx, t, topic+"delete"))
		o.Set("create partitions", b.createPartitions(ctx, t, topic+"create-partitions", 3))

		// Metadata that may create the topic: Kafka runs with
		// auto.create.topics.enable=true and num.partitions=1, Skiff's defaults.
		const auto = "diff-auto-created"
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(auto)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = true
		if _, err := req.RequestWith(ctx, b.cl); err != nil {
			t.Fatalf("%s: Metadata with auto-creation: %v", b.name, err)
		}
		m := b.waitLeaders(ctx, t, auto)
		o.Set("auto-created partitions", len(m.Partitions))
	})
}

// TestDifferentialBadPartition: a partition that does not exist, and fetch
// offsets outside the log.
func TestDifferentialBadPartition(t *testing.T) {
	differential(t, "BadPartition", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic = "diff-bad-partition"
		b.mustCreateTopic(ctx, t, topic, 2, nil)
		id := b.topicMeta(ctx, t, topic).TopicID
		o.Set("produce to partition 0", b.produce(ctx, t, topic, id, 0, diffBatch(diffNoProducer, diffValues(3, 10)...)))
		o.Set("produce to partition 2", b.produce(ctx, t, topic, id, 2, diffBatch(diffNoProducer, diffValues(1, 10)...)))
		o.Set("produce to partition -1", b.produce(ctx, t, topic, id, -1, diffBatch(diffNoProducer, diffValues(1, 10)...)))
		o.Set("fetch partition 2", b.fetchOne(ctx, t, topic, id, 2, 0))
		o.Set("fetch partition 2 by name (v12)", b.withMax(t, 1, 12).fetchOne(ctx, t, topic, id, 2, 0))
		o.Set("fetch offset 0", b.fetchOne(ctx, t, topic, id, 0, 0))
		o.Set("fetch at the end", b.fetchOne(ctx, t, topic, id, 0, 3))
		o.Set("fetch past the end", b.fetchOne(ctx, t, topic, id, 0, 100))
		o.Set("fetch offset -5", b.fetchOne(ctx, t, topic, id, 0, -5))
		o.Set("list offsets partition 2", b.listOffset(ctx, t, topic, 2, -1, -1))
		o.Set("list offsets with leader epoch 999", b.listOffset(ctx, t, topic, 0, -1, 999))
		o.Set("create partitions to 2 (same)", b.createPartitions(ctx, t, topic, 2))
		o.Set("create partitions to 1 (fewer)", b.createPartitions(ctx, t, topic, 1))
		o.Set("create partitions to 3", b.createPartitions(ctx, t, topic, 3))
	})
}

// TestDifferentialTooLarge: batches over the topic's max.message.bytes and
// over the diffBroker default.
func TestDifferentialTooLarge(t *testing.T) {
	differential(t, "TooLarge", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const small, dflt = "diff-too-large-1000", "diff-too-large-default"
		b.mustCreateTopic(ctx, t, small, 1, map[string]*string{"max.message.bytes": diffStr("1000")})
		b.mustCreateTopic(ctx, t, dflt, 1, nil)
		sid, did := b.topicMeta(ctx, t, small).TopicID, b.topicMeta(ctx, t, dflt).TopicID
		o.Set("900-byte batch, limit 1000", b.produce(ctx, t, small, sid, 0, diffBatch(diffNoProducer, diffValues(1, 830)...)))
		o.Set("1100-byte batch, limit 1000", b.produce(ctx, t, small, sid, 0, diffBatch(diffNoProducer, diffValues(1, 1030)...)))
		o.Set("2 batches of 600 bytes, limit 1000", b.produce(ctx, t, small, sid, 0,
			append(diffBatch(diffNoProducer, diffValues(1, 530)...), diffBatch(diffNoProducer, diffValues(1, 530)...)...)))
		o.Set("1 MB batch, default limit", b.produce(ctx, t, dflt, did, 0, diffBatch(diffNoProducer, diffValues(1, 1000000)...)))
		o.Set("1.1 MB batch, default limit", b.produce(ctx, t, dflt, did, 0, diffBatch(diffNoProducer, diffValues(1, 1100000)...)))
		o.Set("end offset", b.listOffset(ctx, t, small, 0, -1, -1))
	})
}

// TestDifferentialCreateTopics: CreateTopics errors, one topic per request.
func TestDifferentialCreateTopics(t *testing.T) {
	differential(t, "CreateTopics", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		create := func(topic string, partitions int32, rf int16, configs map[string]*string) string {
			return b.createTopic(ctx, t, topic, partitions, rf, configs)
		}
		o.Set("valid", create("diff-create", 2, 1, nil))
		o.Set("duplicate topic", create("diff-create", 2, 1, nil))
		o.Set("default partitions and replication factor", create("diff-create-defaults", -1, -1, nil))
		o.Set("default partitions: count", len(b.topicMeta(ctx, t, "diff-create-defaults").Partitions))
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
			o.Set(fmt.Sprintf("config %s=%s", c.name, c.value), create(topic, 1, 1, map[string]*string{c.name: diffStr(c.value)}))
		}
		o.Set("config retention.ms=null", create("diff-create-null-config", 1, 1, map[string]*string{"retention.ms": nil}))

		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis, req.ValidateOnly = 10000, true
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "diff-create-validate-only", 1, 1
		req.Topics = append(req.Topics, rt)
		if resp, err := req.RequestWith(ctx, b.cl); err != nil || len(resp.Topics) != 1 {
			o.Set("validate only", fmt.Sprintf("%v", err))
		} else {
			o.Set("validate only", diffErr(resp.Topics[0].ErrorCode))
		}
		o.Set("validate only: metadata after", diffErr(b.topicMeta(ctx, t, "diff-create-validate-only").ErrorCode))

		req = kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 10000
		req.Topics = append(req.Topics, rt, rt)
		req.Topics[0].Topic, req.Topics[1].Topic = "diff-create-twice", "diff-create-twice"
		if resp, err := req.RequestWith(ctx, b.cl); err != nil {
			o.Set("same topic twice in one request", diffErrOf(err))
		} else {
			var codes []string
			for _, rt := range resp.Topics {
				codes = append(codes, diffErr(rt.ErrorCode))
			}
			o.Set("same topic twice in one request", strings.Join(codes, ", "))
		}

		o.Set("delete topic", b.deleteTopic(ctx, t, "diff-create"))
		o.Set("delete topic again", b.deleteTopic(ctx, t, "diff-create"))
	})
}

// TestDifferentialAlterConfigs: IncrementalAlterConfigs on a topic, good and bad.
func TestDifferentialAlterConfigs(t *testing.T) {
	differential(t, "AlterConfigs", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic = "diff-alter-configs"
		b.mustCreateTopic(ctx, t, topic, 1, nil)
		alter := func(name string, value *string, op kmsg.IncrementalAlterConfigOp) string {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			r := kmsg.NewIncrementalAlterConfigsRequestResource()
			r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value, c.Op = name, value, op
			r.Configs = append(r.Configs, c)
			req.Resources = append(req.Resources, r)
			resp, err := req.RequestWith(ctx, b.cl)
			if err != nil {
				return diffErrOf(err)
			}
			if len(resp.Resources) != 1 {
				return fmt.Sprintf("%d resources in the response", len(resp.Resources))
			}
			return diffErr(resp.Resources[0].ErrorCode)
		}
		set, del := kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete
		o.Set("set retention.ms=3600000", alter("retention.ms", diffStr("3600000"), set))
		o.Set("retention.ms after set", b.describeConfig(ctx, t, topic, "retention.ms"))
		o.Set("set retention.ms=abc", alter("retention.ms", diffStr("abc"), set))
		o.Set("set cleanup.policy=bogus", alter("cleanup.policy", diffStr("bogus"), set))
		o.Set("set no.such.config=1", alter("no.such.config", diffStr("1"), set))
		o.Set("set retention.ms=null", alter("retention.ms", nil, set))
		o.Set("delete retention.ms", alter("retention.ms", nil, del))
		o.Set("retention.ms after delete", b.describeConfig(ctx, t, topic, "retention.ms"))
		o.Set("delete no.such.config", alter("no.such.config", nil, del))
		o.Set("append cleanup.policy=compact", alter("cleanup.policy", diffStr("compact"), kmsg.IncrementalAlterConfigOpAppend))
		o.Set("cleanup.policy after append", b.describeConfig(ctx, t, topic, "cleanup.policy"))
		o.Set("subtract cleanup.policy=compact", alter("cleanup.policy", diffStr("compact"), kmsg.IncrementalAlterConfigOpSubtract))
		o.Set("cleanup.policy after subtract", b.describeConfig(ctx, t, topic, "cleanup.policy"))
	})
}

// TestDifferentialListOffsets: offsets by timestamp on the same batches, with
// timestamps out of order inside a batch and across batches.
func TestDifferentialListOffsets(t *testing.T) {
	differential(t, "ListOffsets", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic = "diff-list-offsets"
		b.mustCreateTopic(ctx, t, topic, 1, nil)
		id := b.topicMeta(ctx, t, topic).TopicID
		for i, batch := range [][]diffRec{
			{{"a", 1000}, {"b", 1001}, {"c", 1002}}, // offsets 0-2
			{{"d", 5000}, {"e", 3000}},              // offsets 3-4
			{{"f", 2000}},                           // offset 5
		} {
			o.Set(fmt.Sprintf("produce batch %d", i), b.produce(ctx, t, topic, id, 0, diffBatch(diffNoProducer, batch...)))
		}
		for _, ts := range []int64{-1, -2, -3, -4, 0, 999, 1000, 1001, 1500, 2000, 2500, 3000, 4000, 5000, 5001} {
			o.Set(fmt.Sprintf("timestamp %d", ts), b.listOffset(ctx, t, topic, 0, ts, -1))
		}
		b.mustCreateTopic(ctx, t, "diff-list-offsets-empty", 1, nil)
		for _, ts := range []int64{-1, -2, -3, 0} {
			o.Set(fmt.Sprintf("empty topic: timestamp %d", ts), b.listOffset(ctx, t, "diff-list-offsets-empty", 0, ts, -1))
		}

		// Kafka 4 rejects timestamps more than message.timestamp.after.max.ms
		// (1 hour) ahead of the broker's clock.
		const future = "diff-list-offsets-future"
		b.mustCreateTopic(ctx, t, future, 1, nil)
		fid := b.topicMeta(ctx, t, future).TopicID
		now := time.Now().UnixMilli()
		o.Set("produce timestamp 30 minutes ahead", b.produce(ctx, t, future, fid, 0, diffBatch(diffNoProducer, diffRec{"a", now + 30*60*1000})))
		o.Set("produce timestamp 2 hours ahead", b.produce(ctx, t, future, fid, 0, diffBatch(diffNoProducer, diffRec{"b", now + 2*3600*1000})))

		const lat = "diff-list-offsets-log-append-time"
		b.mustCreateTopic(ctx, t, lat, 1, map[string]*string{"message.timestamp.type": diffStr("LogAppendTime")})
		before := time.Now().UnixMilli()
		p := b.produce(ctx, t, lat, b.topicMeta(ctx, t, lat).TopicID, 0, diffBatch(diffNoProducer, diffRec{"a", 1000}))
		o.Set("LogAppendTime topic: produce", p)
		o.Set("LogAppendTime topic: append time in the response is now", p.appendTime >= before-1000 && p.appendTime <= time.Now().UnixMilli()+1000)
		o.Set("LogAppendTime topic: timestamp 1000", strings.Fields(b.listOffset(ctx, t, lat, 0, 1000, -1))[:2])
	})
}

// TestDifferentialDescribeConfigs: the configs of a topic with one override:
// names, diffValues, sources, flags and synonyms.
func TestDifferentialDescribeConfigs(t *testing.T) {
	differential(t, "DescribeConfigs", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic = "diff-describe-configs"
		b.mustCreateTopic(ctx, t, topic, 1, map[string]*string{"retention.ms": diffStr("3600000")})
		req := kmsg.NewPtrDescribeConfigsRequest()
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		req.Resources = append(req.Resources, r)
		req.IncludeSynonyms = true
		resp, err := req.RequestWith(ctx, b.cl)
		if err != nil || len(resp.Resources) != 1 {
			t.Fatalf("%s: DescribeConfigs: %v", b.name, err)
		}
		res := resp.Resources[0]
		o.Set("error", diffErr(res.ErrorCode))
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
		resp, err = req.RequestWith(ctx, b.cl)
		if err != nil || len(resp.Resources) != 1 {
			t.Fatalf("%s: DescribeConfigs by name: %v", b.name, err)
		}
		var names []string
		for _, c := range resp.Resources[0].Configs {
			names = append(names, c.Name)
		}
		sort.Strings(names)
		o.Set("by name: error", diffErr(resp.Resources[0].ErrorCode))
		o.Set("by name: configs", names)
	})
}

// TestDifferentialIdempotentProducer: sequence checks of an idempotent
// producer: duplicates, gaps, epoch bumps, unknown producer IDs.
func TestDifferentialIdempotentProducer(t *testing.T) {
	differential(t, "IdempotentProducer", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic = "diff-idempotent"
		b.mustCreateTopic(ctx, t, topic, 1, nil)
		id := b.topicMeta(ctx, t, topic).TopicID
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionTimeoutMillis = 60000
		resp, err := init.RequestWith(ctx, b.cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("%s: InitProducerID: %v %s", b.name, err, diffErr(resp.ErrorCode))
		}
		o.Set("init producer ID: epoch", resp.ProducerEpoch)
		pid, epoch := resp.ProducerID, resp.ProducerEpoch
		send := func(what string, ps diffProducer, vals ...string) {
			recs := make([]diffRec, len(vals))
			for i, v := range vals {
				recs[i] = diffRec{v, time.Now().UnixMilli()}
			}
			o.Set(what, b.produce(ctx, t, topic, id, 0, diffBatch(ps, recs...)))
		}
		p := func(epoch int16, seq int32) diffProducer { return diffProducer{pid, epoch, seq} }
		send("1. sequence 0-1", p(epoch, 0), "a", "b")
		send("2. sequence 0-1 again (duplicate of the last batch)", p(epoch, 0), "a", "b")
		send("3. sequence 5 (gap)", p(epoch, 5), "gap")
		send("4. sequence 2", p(epoch, 2), "c")
		send("5. sequence 0-1 again (duplicate of an older batch)", p(epoch, 0), "a", "b")
		send("6. sequence 1 (overlaps a batch)", p(epoch, 1), "b")
		send("7. sequence 3-4", p(epoch, 3), "d", "e")
		send("8. sequence 3-4 with other diffValues (same sequences, different batch)", p(epoch, 3), "x", "y")
		send("9. next epoch, sequence 5 (gap after a bump)", p(epoch+1, 5), "f")
		send("10. next epoch, sequence 0", p(epoch+1, 0), "f")
		send("11. old epoch, sequence 5", p(epoch, 5), "g")
		send("12. unknown producer ID, sequence 0", diffProducer{pid + 1_000_000, 0, 0}, "h")
		send("13. unknown producer ID, sequence 7", diffProducer{pid + 2_000_000, 0, 7}, "i")
		o.Set("end offset", b.listOffset(ctx, t, topic, 0, -1, -1))
	})
}

// TestDifferentialConsumerGroup: a classic group with one franz-go member:
// describe and lag while it is stable and after it leaves, and the answers
// for a group that does not exist.
func TestDifferentialConsumerGroup(t *testing.T) {
	differential(t, "ConsumerGroup", func(ctx context.Context, t *testing.T, b *diffBroker, o reference.Observations) {
		const topic, group = "diff-group-topic", "diff-group"
		b.mustCreateTopic(ctx, t, topic, 3, nil)
		id := b.topicMeta(ctx, t, topic).TopicID
		for p := int32(0); p < 3; p++ {
			if got := b.produce(ctx, t, topic, id, p, diffBatch(diffNoProducer, diffValues(5, 10)...)); got.err != "NONE" {
				t.Fatalf("%s: produce to partition %d: %s", b.name, p, got)
			}
		}
		member := b.client(t, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.ClientID("diff-client"),
			kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
		for n := 0; n < 15; {
			fs := member.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("%s: consumed %d of 15 records: %v", b.name, n, err)
			}
			fs.EachError(func(topic string, p int32, err error) { t.Logf("%s: fetch %s/%d: %v", b.name, topic, p, err) })
			n += fs.NumRecords()
		}
		commit := map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 5}, 1: {Epoch: -1, Offset: 2}}}
		var commitErr error
		member.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
		})
		o.Set("commit", diffErrOf(commitErr))
		b.describeGroup(ctx, t, group, "stable", o)
		b.lag(ctx, t, group, topic, "stable", o)
		member.Close()
		b.describeGroup(ctx, t, group, "after leave", o)
		b.lag(ctx, t, group, topic, "after leave", o)
		b.listGroup(ctx, t, group, o)
		b.describeGroup(ctx, t, "diff-no-such-group", "unknown group", o)
		b.lag(ctx, t, "diff-no-such-group", topic, "unknown group", o)
		o.Set("delete group", b.deleteGroup(ctx, t, group))
		o.Set("delete group again", b.deleteGroup(ctx, t, group))
	})
}

// describeGroup records a DescribeGroups answer for group under prefix what.
func (b *diffBroker) describeGroup(ctx context.Context, t *testing.T, group, what string, o reference.Observations) {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Groups) != 1 {
		t.Fatalf("%s: DescribeGroups %s: %v", b.name, group, err)
	}
	g := resp.Groups[0]
	o.Set(what+": describe error", diffErr(g.ErrorCode))
	o.Set(what+": state", g.State)
	o.Set(what+": protocol type", g.ProtocolType)
	o.Set(what+": protocol", g.Protocol)
	o.Set(what+": members", len(g.Members))
	for _, m := range g.Members {
		o.Set(what+": member client ID", m.ClientID)
		o.Set(what+": member client host", m.ClientHost)
		o.Set(what+": member has metadata", len(m.ProtocolMetadata) > 0)
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			o.Set(what+": member assignment", "undecodable: "+err.Error())
			continue
		}
		var parts []string
		for _, at := range a.Topics {
			parts = append(parts, fmt.Sprintf("%s%v", at.Topic, at.Partitions))
		}
		o.Set(what+": member assignment", parts)
	}
}

// lag records the committed offsets and lag of group on topic, as
// kafka-consumer-groups --describe shows them: from OffsetFetch and the end
// offsets.
func (b *diffBroker) lag(ctx context.Context, t *testing.T, group, topic, what string, o reference.Observations) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 1, 2}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil {
		t.Fatalf("%s: OffsetFetch %s: %v", b.name, group, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		o.Set(what+": offset fetch", diffErrOf(err))
		return
	}
	for _, g := range resp.Groups { // v8+
		o.Set(what+": offset fetch group error", diffErr(g.ErrorCode))
		for _, rt := range g.Topics {
			for _, p := range rt.Partitions {
				end := b.listOffset(ctx, t, topic, p.Partition, -1, -1)
				o.Set(fmt.Sprintf("%s: partition %d", what, p.Partition), fmt.Sprintf("%s, committed %d (leader epoch %d), end %s",
					diffErr(p.ErrorCode), p.Offset, p.LeaderEpoch, end))
			}
		}
	}
	for _, rt := range resp.Topics { // before v8
		for _, p := range rt.Partitions {
			end := b.listOffset(ctx, t, topic, p.Partition, -1, -1)
			o.Set(fmt.Sprintf("%s: partition %d", what, p.Partition), fmt.Sprintf("%s, committed %d (leader epoch %d), end %s",
				diffErr(p.ErrorCode), p.Offset, p.LeaderEpoch, end))
		}
	}
}

func (b *diffBroker) listGroup(ctx context.Context, t *testing.T, group string, o reference.Observations) {
	t.Helper()
	resp, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, b.cl)
	if err != nil {
		t.Fatalf("%s: ListGroups: %v", b.name, err)
	}
	o.Set("list groups: error", diffErr(resp.ErrorCode))
	for _, g := range resp.Groups {
		if g.Group == group {
			o.Set("list groups: entry", fmt.Sprintf("protocol type %q, state %q, type %q", g.ProtocolType, g.GroupState, g.GroupType))
		}
	}
}

func (b *diffBroker) deleteGroup(ctx context.Context, t *testing.T, group string) string {
	t.Helper()
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Groups) != 1 {
		return diffErrOf(err)
	}
	return diffErr(resp.Groups[0].ErrorCode)
}

func (b *diffBroker) deleteTopic(ctx context.Context, t *testing.T, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.TopicNames = []string{topic}
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Topics) != 1 {
		return diffErrOf(err)
	}
	return diffErr(resp.Topics[0].ErrorCode)
}

func (b *diffBroker) createPartitions(ctx context.Context, t *testing.T, topic string, count int32) string {
	t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Topics) != 1 {
		return diffErrOf(err)
	}
	return diffErr(resp.Topics[0].ErrorCode)
}

// describeConfigsErr is the error of DescribeConfigs for a topic.
func (b *diffBroker) describeConfigsErr(ctx context.Context, t *testing.T, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Resources) != 1 {
		return diffErrOf(err)
	}
	return diffErr(resp.Resources[0].ErrorCode)
}

// describeConfig is "VALUE (SOURCE)" of one topic config.
func (b *diffBroker) describeConfig(ctx context.Context, t *testing.T, topic, name string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{name}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, b.cl)
	if err != nil || len(resp.Resources) != 1 {
		return diffErrOf(err)
	}
	for _, c := range resp.Resources[0].Configs {
		if c.Name == name && c.Value != nil {
			return fmt.Sprintf("%s (%s)", *c.Value, c.Source)
		}
	}
	return "absent"
}

// withMax returns b with a client that sends request key at version max at most.
func (b *diffBroker) withMax(t *testing.T, key, max int16) *diffBroker {
	t.Helper()
	capped := &diffBroker{name: b.name, addr: b.addr, vers: kversion.FromApiVersionsResponse(&kmsg.ApiVersionsResponse{})}
	b.vers.EachMaxKeyVersion(func(k, v int16) {
		if k == key {
			v = min(v, max)
		}
		capped.vers.SetMaxKeyVersion(k, v)
	})
	capped.cl = capped.client(t)
	return capped
}
