package broker

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/protocol"
)

// The tests in this file pin answers that Apache Kafka 4.4 gives and that
// compat-tests/differential_test.go once found Skiff giving differently.
// Each expected value was read from Kafka's code and confirmed against the
// reference broker (compat-tests/reference); requests go raw, at the exact
// versions named.

// describeTopicSynonyms sends DescribeConfigs v4 with synonyms for a topic
// and returns each config's synonyms as "name (SOURCE)" and its source.
func describeTopicSynonyms(t *testing.T, addr, topic string) (map[string][]string, map[string]string) {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = 4
	req.IncludeSynonyms = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	req.Resources = append(req.Resources, rr)
	resp := rawSend(t, dialRaw(t, addr), req).(*kmsg.DescribeConfigsResponse)
	syn, src := map[string][]string{}, map[string]string{}
	for _, c := range resp.Resources[0].Configs {
		syn[c.Name] = []string{}
		for _, s := range c.ConfigSynonyms {
			syn[c.Name] = append(syn[c.Name], fmt.Sprintf("%s=%s (%s)", s.Name, *s.Value, s.Source))
		}
		src[c.Name] = c.Source.String()
	}
	return syn, src
}

// TestBrokerDescribeConfigsSynonyms: every topic config lists the broker
// config that supplies its default (DEFAULT_CONFIG), or itself where Kafka
// names it the same; an override comes first (DYNAMIC_TOPIC_CONFIG); a
// broker config without a default of its own (log.retention.ms) is left out
// unless the broker sets it (STATIC_BROKER_CONFIG).
func TestBrokerDescribeConfigsSynonyms(t *testing.T) {
	tb := startTestBroker(t, "")
	createTopic(t, newClient(t, tb.addr()), "syn", 1, "retention.ms", "3600000", "max.message.bytes", "2000")
	syn, src := describeTopicSynonyms(t, tb.addr(), "syn")
	want := map[string][]string{
		"retention.ms":                   {"retention.ms=3600000 (DYNAMIC_TOPIC_CONFIG)"},
		"max.message.bytes":              {"max.message.bytes=2000 (DYNAMIC_TOPIC_CONFIG)", "message.max.bytes=1048588 (DEFAULT_CONFIG)"},
		"retention.bytes":                {"log.retention.bytes=-1 (DEFAULT_CONFIG)"},
		"compression.type":               {"compression.type=producer (DEFAULT_CONFIG)"},
		"unclean.leader.election.enable": {"unclean.leader.election.enable=false (DEFAULT_CONFIG)"},
		"min.insync.replicas":            {"min.insync.replicas=1 (DEFAULT_CONFIG)"},
		"delete.retention.ms":            {"log.cleaner.delete.retention.ms=86400000 (DEFAULT_CONFIG)"},
		"file.delete.delay.ms":           {"log.segment.delete.delay.ms=60000 (DEFAULT_CONFIG)"},
		"flush.messages":                 {"log.flush.interval.messages=9223372036854775807 (DEFAULT_CONFIG)"},
		"min.cleanable.dirty.ratio":      {"log.cleaner.min.cleanable.ratio=0.5 (DEFAULT_CONFIG)"},
		"segment.index.bytes":            {"log.index.size.max.bytes=10485760 (DEFAULT_CONFIG)"},
		"message.timestamp.type":         {"log.message.timestamp.type=CreateTime (DEFAULT_CONFIG)"},
		"preallocate":                    {"log.preallocate=false (DEFAULT_CONFIG)"},
		// log.flush.interval.ms, log.roll.ms and log.roll.jitter.ms have
		// no default: Kafka lists nothing.
		"flush.ms":          {},
		"segment.ms":        {},
		"segment.jitter.ms": {},
		// Skiff's own configs have no broker synonym.
		cfgIngestTransforms: {},
	}
	for name, w := range want {
		if got, ok := syn[name]; !ok || !slices.Equal(got, w) {
			t.Errorf("%s: synonyms %q, want %q", name, got, w)
		}
	}
	for _, d := range topicConfigs {
		if _, ok := brokerSynonyms[d.name]; !ok && !strings.HasPrefix(d.name, "skiff.") {
			t.Errorf("%s has no broker synonym", d.name)
		}
	}
	if src["retention.ms"] != "DYNAMIC_TOPIC_CONFIG" || src["retention.bytes"] != "DEFAULT_CONFIG" {
		t.Errorf("sources: retention.ms %s, retention.bytes %s", src["retention.ms"], src["retention.bytes"])
	}

	// A broker that sets log.retention.ms: that leads, and the default
	// Kafka falls back on (log.retention.hours) follows.
	tb = startTestBroker(t, "", func(c *Config) { c.LogRetentionMs = 1000 })
	createTopic(t, newClient(t, tb.addr()), "syn", 1)
	syn, src = describeTopicSynonyms(t, tb.addr(), "syn")
	if w := []string{"log.retention.ms=1000 (STATIC_BROKER_CONFIG)", "log.retention.hours=168 (DEFAULT_CONFIG)"}; !slices.Equal(syn["retention.ms"], w) || src["retention.ms"] != "STATIC_BROKER_CONFIG" {
		t.Errorf("retention.ms with log.retention.ms set: %q from %s, want %q", syn["retention.ms"], src["retention.ms"], w)
	}
}

// TestGroupDescribeProtocolUntilStable: DescribeGroups names a classic
// group's protocol only once it is Stable; in CompletingRebalance (joined,
// not synced) the protocol is chosen but reported empty, as in Kafka's
// GroupMetadataManager.describeGroups.
func TestGroupDescribeProtocolUntilStable(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups)
	c := dialRaw(t, tb.addr())
	const g = "describe-protocol"
	a := waitJoin(t, joinDynamic(t, tb.addr(), g))
	expectCode(t, "join", a.ErrorCode, 0)
	d := describeGroup(t, c, g)
	if d.State != "CompletingRebalance" || d.Protocol != "" || d.ProtocolType != "consumer" || len(d.Members) != 1 || len(d.Members[0].ProtocolMetadata) != 0 {
		t.Fatalf("before sync: state %s, protocol %q, type %q, members %+v", d.State, d.Protocol, d.ProtocolType, d.Members)
	}
	expectCode(t, "sync", waitSync(t, syncAsync(t, tb.addr(), g, a.MemberID, a.Generation, nil, map[string]string{a.MemberID: "x"})).ErrorCode, 0)
	if d := describeGroup(t, c, g); d.State != "Stable" || d.Protocol != "range" {
		t.Fatalf("after sync: state %s, protocol %q", d.State, d.Protocol)
	}
}

// TestBrokerAuthorizedOperations: asked for authorized operations, Kafka
// without an authorizer answers every operation of the resource type;
// unasked, or before the version that has the field, INT32_MIN.
func TestBrokerAuthorizedOperations(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups, fastConsumerGroups)
	createTopic(t, newClient(t, tb.addr()), "ops", 1)
	c := dialRaw(t, tb.addr())
	if topicOps != 3576 || clusterOps != 8096 || groupOps != 3400 {
		t.Fatalf("operation bits: topic %d, cluster %d, group %d; Kafka: 3576, 8096, 3400", topicOps, clusterOps, groupOps)
	}

	metadata := func(version int16, asked bool, topics ...kmsg.MetadataRequestTopic) *kmsg.MetadataResponse {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = version
		req.Topics = topics
		req.IncludeTopicAuthorizedOperations, req.IncludeClusterAuthorizedOperations = asked, asked
		return rawSend(t, c, req).(*kmsg.MetadataResponse)
	}
	named := func(name string) kmsg.MetadataRequestTopic { return kmsg.MetadataRequestTopic{Topic: &name} }
	for _, tc := range []struct {
		version         int16
		asked           bool
		topic, cluster  int32
		unknownTopicOps int32
	}{
		{8, true, 3576, 8096, 3576},
		{10, true, 3576, 8096, 3576},
		{12, true, 3576, opsNotProvided, 3576}, // v11 dropped the cluster's field
		{12, false, opsNotProvided, opsNotProvided, opsNotProvided},
	} {
		resp := metadata(tc.version, tc.asked, named("ops"), named("no-such-topic"))
		if len(resp.Topics) != 2 || resp.Topics[0].AuthorizedOperations != tc.topic || resp.AuthorizedOperations != tc.cluster ||
			resp.Topics[1].AuthorizedOperations != tc.unknownTopicOps {
			t.Errorf("metadata v%d asked %v: %d topics, topic %d, unknown topic %d, cluster %d", tc.version, tc.asked, len(resp.Topics),
				resp.Topics[0].AuthorizedOperations, resp.Topics[1].AuthorizedOperations, resp.AuthorizedOperations)
		}
	}
	// A topic unknown by ID gets none: Kafka answers those before it
	// looks at operations.
	if resp := metadata(12, true, kmsg.MetadataRequestTopic{TopicID: [16]byte{1}}); resp.Topics[0].ErrorCode != kerr.UnknownTopicID.Code ||
		resp.Topics[0].AuthorizedOperations != opsNotProvided {
		t.Errorf("unknown topic ID: %s, operations %d", errName(resp.Topics[0].ErrorCode), resp.Topics[0].AuthorizedOperations)
	}

	for _, asked := range []bool{true, false} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.Version = 1
		req.IncludeClusterAuthorizedOperations = asked
		want := authorizedOps(asked, 8096)
		if got := rawSend(t, c, req).(*kmsg.DescribeClusterResponse).ClusterAuthorizedOperations; got != want {
			t.Errorf("describe cluster asked %v: %d, want %d", asked, got, want)
		}
	}

	const g = "ops-group"
	a := waitJoin(t, joinDynamic(t, tb.addr(), g))
	expectCode(t, "join", a.ErrorCode, 0)
	for _, tc := range []struct {
		version int16
		asked   bool
		group   string
		want    int32
	}{
		{5, true, g, 3400},
		{3, true, g, 3400},
		{5, false, g, opsNotProvided},
		{5, true, "no-such-group", 3400},           // Dead, no error before v6
		{6, true, "no-such-group", opsNotProvided}, // GROUP_ID_NOT_FOUND
	} {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = tc.version
		req.Groups = []string{tc.group}
		req.IncludeAuthorizedOperations = tc.asked
		if got := rawSend(t, c, req).(*kmsg.DescribeGroupsResponse).Groups[0].AuthorizedOperations; got != tc.want {
			t.Errorf("describe groups v%d asked %v %s: %d, want %d", tc.version, tc.asked, tc.group, got, tc.want)
		}
	}

	cgOK(t, c, cgJoin("ops-consumer-group", "ops-member", "ops"))
	for _, tc := range []struct {
		group string
		want  int32
	}{{"ops-consumer-group", 3400}, {"no-such-group", opsNotProvided}} {
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Version = 0
		req.Groups = []string{tc.group}
		req.IncludeAuthorizedOperations = true
		if got := rawSend(t, c, req).(*kmsg.ConsumerGroupDescribeResponse).Groups[0].AuthorizedOperations; got != tc.want {
			t.Errorf("consumer group describe %s: %d, want %d", tc.group, got, tc.want)
		}
	}
}

// TestBrokerProduceBatchChecks: what Produce v9 answers for each way a
// partition's records can be broken, in Kafka 4.4's order: records that
// hold no whole batch are INVALID_RECORD (Kafka finds no batch), bytes
// that are all there but wrong CORRUPT_MESSAGE, a legacy format, a second
// batch or a base offset other than 0 INVALID_RECORD whatever the CRC; a
// partial batch after a whole one is dropped.
func TestBrokerProduceBatchChecks(t *testing.T) {
	tb := startTestBroker(t, "")
	createTopic(t, newClient(t, tb.addr()), "checks", 1)
	good := validBatch(t)
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	setLen := func(n int32) func([]byte) { return func(b []byte) { binary.BigEndian.PutUint32(b[8:], uint32(n)) } }
	recrc := func(b []byte) {
		binary.BigEndian.PutUint32(b[17:], protocol.CRC32C(b[21:]))
	}
	plus := func(tail ...byte) []byte { return append(append([]byte(nil), good...), tail...) }
	idempotent := func(seq int32) []byte {
		now := time.Now().UnixMilli()
		b, err := protocol.BuildBatch(protocol.BatchHeader{BaseTimestamp: now, MaxTimestamp: now, ProducerID: 5, ProducerEpoch: 0, BaseSequence: seq},
			[]protocol.Record{{Value: []byte("v")}}, protocol.CodecNone)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stored := int64(0)
	for _, tc := range []struct {
		name    string
		records []byte
		want    *kerr.Error // nil: stored
	}{
		{"truncated by 3 bytes", good[:len(good)-3], kerr.InvalidRecord},
		{"11 bytes: no length", good[:11], kerr.InvalidRecord},
		{"16 bytes: no magic", good[:16], kerr.InvalidRecord},
		{"60 bytes: part of a header", good[:60], kerr.InvalidRecord},
		{"length far beyond the records", mod(setLen(2000000)), kerr.InvalidRecord},
		{"truncated with a CRC mismatch", mod(func(b []byte) { b[len(b)-4] ^= 1 })[:len(good)-3], kerr.InvalidRecord},
		{"length 10", mod(setLen(10)), kerr.CorruptMessage},
		{"length -1", mod(setLen(-1)), kerr.CorruptMessage},
		{"length 13, truncated", mod(setLen(13))[:14], kerr.CorruptMessage},
		{"length 48: shorter than a header", mod(setLen(48))[:60], kerr.CorruptMessage},
		{"magic 3", mod(func(b []byte) { b[16] = 3 }), kerr.CorruptMessage},
		{"magic -1", mod(func(b []byte) { b[16] = 0xff }), kerr.CorruptMessage},
		{"magic 1", mod(func(b []byte) { b[16] = 1 }), kerr.InvalidRecord},
		{"magic 0", mod(func(b []byte) { b[16] = 0 }), kerr.InvalidRecord},
		{"CRC mismatch", mod(func(b []byte) { b[len(b)-1] ^= 0xff }), kerr.CorruptMessage},
		{"base offset 5", mod(func(b []byte) { binary.BigEndian.PutUint64(b, 5) }), kerr.InvalidRecord},
		{"base offset 5, CRC mismatch", mod(func(b []byte) { binary.BigEndian.PutUint64(b, 5); b[len(b)-1] ^= 1 }), kerr.InvalidRecord},
		{"two batches", plus(good...), kerr.InvalidRecord},
		{"a whole batch of another format after it", plus(mod(func(b []byte) { b[16] = 1 })...), kerr.InvalidRecord},
		{"12 bytes after it with length 5", plus(mod(setLen(5))[:12]...), kerr.CorruptMessage},
		{"17 bytes after it with magic 7", plus(mod(func(b []byte) { b[16] = 7 })[:17]...), kerr.CorruptMessage},
		{"magic 1, then 12 bytes with length 5", append(mod(func(b []byte) { b[16] = 1 }), mod(setLen(5))[:12]...), kerr.InvalidRecord},
		{"base offset 5, then 12 bytes with length 5", append(mod(func(b []byte) { binary.BigEndian.PutUint64(b, 5) }), mod(setLen(5))[:12]...), kerr.CorruptMessage},
		{"producer ID without a sequence", idempotent(-1), kerr.InvalidRecord},
		{"count 0", mod(func(b []byte) {
			binary.BigEndian.PutUint32(b[57:], 0)
			binary.BigEndian.PutUint32(b[23:], 0xffffffff)
			recrc(b)
		}), kerr.InvalidRecord},
		{"good", good, nil},
		{"5 stray bytes after it", plus(1, 2, 3, 4, 5), nil},
		{"a partial batch after it", plus(good[:len(good)-1]...), nil},
		{"16 bytes after it", plus(mod(setLen(1000))[:16]...), nil},
	} {
		resp := rawSend(t, dialRaw(t, tb.addr()), withVersion(produceReq("checks", 0, tc.records), 9)).(*kmsg.ProduceResponse)
		p := resp.Topics[0].Partitions[0]
		want := int16(0)
		if tc.want != nil {
			want = tc.want.Code
		}
		if p.ErrorCode != want {
			t.Errorf("%s: %s, want %s", tc.name, errName(p.ErrorCode), errName(want))
			continue
		}
		if tc.want == nil {
			if p.BaseOffset != stored {
				t.Errorf("%s: stored at %d, want %d", tc.name, p.BaseOffset, stored)
			}
			stored++
		}
	}
	if _, hw := tb.topic("checks").parts[0].Offsets(); hw != stored {
		t.Fatalf("high watermark %d after %d good batches", hw, stored)
	}
	// What was stored is the batch alone, without the bytes after it.
	fr := kmsg.NewPtrFetchRequest()
	fr.Version, fr.MaxBytes, fr.SessionEpoch = 11, 1<<20, -1
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	fr.Topics = []kmsg.FetchRequestTopic{{Topic: "checks", Partitions: []kmsg.FetchRequestTopicPartition{fp}}}
	fetched := rawSend(t, dialRaw(t, tb.addr()), fr).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	got := fetched.RecordBatches
	hs, err := protocol.ValidateBatches(got)
	if err != nil || len(hs) != int(stored) {
		t.Fatalf("fetched %d bytes (%s): %d batches, %v; want %d batches", len(got), errName(fetched.ErrorCode), len(hs), err, stored)
	}
}

func withVersion(req *kmsg.ProduceRequest, v int16) *kmsg.ProduceRequest {
	req.Version = v
	return req
}

// TestProtocolProduceOldVersions: ApiVersions lists Produce from v0, as
// Kafka 4.4 does for librdkafka (KAFKA-18659), but a Produce v0-v2 request
// closes the connection, as Kafka's does, whatever its records; v3 is
// served.
func TestProtocolProduceOldVersions(t *testing.T) {
	tb := startTestBroker(t, "")
	createTopic(t, newClient(t, tb.addr()), "old", 1)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	var produce *kmsg.ApiVersionsResponseApiKey
	for _, k := range rawSend(t, dialRaw(t, tb.addr()), av).(*kmsg.ApiVersionsResponse).ApiKeys {
		if k.ApiKey == 0 {
			produce = &k
		}
	}
	if produce == nil || produce.MinVersion != 0 || produce.MaxVersion != 12 {
		t.Fatalf("ApiVersions lists Produce %+v, want 0-12", produce)
	}
	for v := int16(0); v <= 2; v++ {
		c := dialRaw(t, tb.addr())
		c.Write(kmsg.NewRequestFormatter().AppendRequest(nil, withVersion(produceReq("old", 0, validBatch(t)), v), 1))
		expectClosed(t, c, fmt.Sprintf("produce v%d", v))
	}
	if _, hw := tb.topic("old").parts[0].Offsets(); hw != 0 {
		t.Fatalf("an old produce was stored: high watermark %d", hw)
	}
	p := rawSend(t, dialRaw(t, tb.addr()), withVersion(produceReq("old", 0, validBatch(t)), 3)).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce v3: %s at %d", errName(p.ErrorCode), p.BaseOffset)
	}
}

// TestBrokerInternalTopicNames: Kafka's internal topic names are marked
// internal by name, and neither a Metadata request that allows
// auto-creation nor a Produce creates them as ordinary topics; Produce to
// them is INVALID_TOPIC_EXCEPTION, even once a topic of that name exists.
// franz-go's kgo integration suite asks Metadata for __consumer_offsets;
// Skiff used to create an ordinary topic of that name, which regex
// consumers then consumed.
func TestBrokerInternalTopicNames(t *testing.T) {
	tb := startTestBroker(t, "")
	metadata := func(topic string) kmsg.MetadataResponseTopic {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 12
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		return rawSend(t, dialRaw(t, tb.addr()), req).(*kmsg.MetadataResponse).Topics[0]
	}
	produce := func(topic string) int16 {
		t.Helper()
		return rawSend(t, dialRaw(t, tb.addr()), withVersion(produceReq(topic, 0, validBatch(t)), 9)).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	for _, name := range []string{"__consumer_offsets", "__transaction_state", "__share_group_state"} {
		if mt := metadata(name); mt.ErrorCode != kerr.UnknownTopicOrPartition.Code || !mt.IsInternal {
			t.Errorf("metadata %s: %s, internal %v; want UNKNOWN_TOPIC_OR_PARTITION, internal", name, errName(mt.ErrorCode), mt.IsInternal)
		}
		if code := produce(name); code != kerr.InvalidTopicException.Code {
			t.Errorf("produce %s: %s, want INVALID_TOPIC_EXCEPTION", name, errName(code))
		}
		if tb.topic(name) != nil {
			t.Errorf("%s was created", name)
		}
	}

	// Kafka takes an explicit CreateTopics of such a name; the topic is
	// internal, and takes no produce.
	c := newClient(t, tb.addr())
	createTopic(t, c, "__consumer_offsets", 1)
	createTopic(t, c, "consumer_offsets", 1)
	if mt := metadata("__consumer_offsets"); mt.ErrorCode != 0 || !mt.IsInternal {
		t.Errorf("created __consumer_offsets: %s, internal %v; want internal", errName(mt.ErrorCode), mt.IsInternal)
	}
	if code := produce("__consumer_offsets"); code != kerr.InvalidTopicException.Code {
		t.Errorf("produce to created __consumer_offsets: %s, want INVALID_TOPIC_EXCEPTION", errName(code))
	}
	if mt := metadata("consumer_offsets"); mt.ErrorCode != 0 || mt.IsInternal {
		t.Errorf("consumer_offsets: %s, internal %v; want an ordinary topic", errName(mt.ErrorCode), mt.IsInternal)
	}
	if code := produce("consumer_offsets"); code != 0 {
		t.Errorf("produce to consumer_offsets: %s", errName(code))
	}
}

// TestBrokerElectLeadersSingleReplica: each partition's only replica is its
// leader, so Kafka 4.4 answers ELECTION_NOT_NEEDED for it (preferred or
// unclean), UNKNOWN_TOPIC_OR_PARTITION for what does not exist, and, for
// null topics, every topic without the partitions that needed nothing.
// Found by segmentio/kafka-go's TestClientElectLeaders, whose connection
// Skiff closed (the key was unsupported).
func TestBrokerElectLeadersSingleReplica(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr())
	createTopic(t, c, "elect", 2)
	for _, typ := range []int8{0, 1} {
		req := kmsg.NewPtrElectLeadersRequest()
		req.Version, req.ElectionType, req.TimeoutMillis = 2, typ, 5000
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic, rt.Partitions = "elect", []int32{0, 1, 7}
		nope := kmsg.NewElectLeadersRequestTopic()
		nope.Topic, nope.Partitions = "nope", []int32{0}
		req.Topics = append(req.Topics, rt, nope)
		resp := rawSend(t, dialRaw(t, tb.addr()), req).(*kmsg.ElectLeadersResponse)
		var got []string
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				got = append(got, fmt.Sprintf("%s-%d %s", tp.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode)))
			}
		}
		want := []string{
			"elect-0 " + kerr.ElectionNotNeeded.Error(),
			"elect-1 " + kerr.ElectionNotNeeded.Error(),
			"elect-7 " + kerr.UnknownTopicOrPartition.Error(),
			"nope-0 " + kerr.UnknownTopicOrPartition.Error(),
		}
		if resp.ErrorCode != 0 || !slices.Equal(got, want) {
			t.Errorf("election type %d: error %d, partitions %q, want 0, %q", typ, resp.ErrorCode, got, want)
		}
	}
	all := kmsg.NewPtrElectLeadersRequest()
	all.Version, all.TimeoutMillis = 2, 5000
	resp := rawSend(t, dialRaw(t, tb.addr()), all).(*kmsg.ElectLeadersResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].Topic != "elect" || len(resp.Topics[0].Partitions) != 0 {
		t.Errorf("null topics: %+v, want topic elect with no partitions", resp.Topics)
	}
}

// TestBrokerListPartitionReassignmentsEmpty: nothing is ever being
// reassigned, and Kafka 4.4 leaves unknown topics out without an error, so
// the answer is an empty list. Found by segmentio/kafka-go's
// TestClientListPartitionReassignments (the key was unsupported).
func TestBrokerListPartitionReassignmentsEmpty(t *testing.T) {
	tb := startTestBroker(t, "")
	createTopic(t, newClient(t, tb.addr()), "reassign", 2)
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	for _, name := range []string{"reassign", "nope"} {
		rt := kmsg.NewListPartitionReassignmentsRequestTopic()
		rt.Topic, rt.Partitions = name, []int32{0, 1, 9}
		req.Topics = append(req.Topics, rt)
	}
	resp := rawSend(t, dialRaw(t, tb.addr()), req).(*kmsg.ListPartitionReassignmentsResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 0 {
		t.Errorf("error %d, topics %+v, want 0 and none", resp.ErrorCode, resp.Topics)
	}
	req.Topics = nil
	resp = rawSend(t, dialRaw(t, tb.addr()), req).(*kmsg.ListPartitionReassignmentsResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 0 {
		t.Errorf("all: error %d, topics %+v, want 0 and none", resp.ErrorCode, resp.Topics)
	}
}

// TestBrokerAlterPartitionReassignmentsSingleNode: the current assignment,
// [this node], is accepted and changes nothing; other lists get Kafka 4.4's
// INVALID_REPLICA_ASSIGNMENT messages, null replicas (cancel)
// NO_REASSIGNMENT_IN_PROGRESS, and unknown topics and partitions
// UNKNOWN_TOPIC_OR_PARTITION, each read from the reference broker. Found by
// segmentio/kafka-go's TestClientAlterPartitionReassignments (the key was
// unsupported).
func TestBrokerAlterPartitionReassignmentsSingleNode(t *testing.T) {
	tb := startTestBroker(t, "")
	createTopic(t, newClient(t, tb.addr()), "move", 2)
	cases := []struct {
		topic     string
		partition int32
		replicas  []int32
		want      string
	}{
		{"move", 0, []int32{1}, "0 <nil>"},
		{"move", 1, []int32{2}, "39 The manual partition assignment includes broker 2, but no such broker is registered."},
		{"move", 1, []int32{}, "39 The manual partition assignment includes an empty replica list."},
		{"move", 1, []int32{1, 1}, "39 The manual partition assignment includes the broker 1 more than once."},
		{"move", 1, nil, "85 <nil>"},
		{"move", 2, []int32{1}, "3 Unable to find partition move:2."},
		{"nope", 0, []int32{1}, "3 Unable to find a topic named nope."},
	}
	for _, v := range []int16{0, 1} {
		for _, c := range cases {
			req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
			req.Version, req.TimeoutMillis = v, 5000
			rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			rt.Topic = c.topic
			rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			rp.Partition, rp.Replicas = c.partition, c.replicas
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp := rawSend(t, dialRaw(t, tb.addr()), req).(*kmsg.AlterPartitionAssignmentsResponse)
			p := resp.Topics[0].Partitions[0]
			msg := "<nil>"
			if p.ErrorMessage != nil {
				msg = *p.ErrorMessage
			}
			if got := fmt.Sprintf("%d %s", p.ErrorCode, msg); resp.ErrorCode != 0 || got != c.want {
				t.Errorf("v%d %s-%d %v: error %d, %q, want 0, %q", v, c.topic, c.partition, c.replicas, resp.ErrorCode, got, c.want)
			}
		}
	}
}
