package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/protocol"
)

func TestBrokerProduceConsumeRestart(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("orders"))
	createTopic(t, c, "orders", 3)
	const n = 300
	for i := range n {
		r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "v%d", i),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}
		c.Produce(ctxT(t), r, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := c.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	check := func(addr string) {
		cons := newClient(t, addr, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		got := map[string]bool{}
		next := map[int32]int64{}
		for len(got) < n {
			fs := cons.PollFetches(ctxT(t))
			if err := fs.Err(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if r.Offset != next[r.Partition] {
					t.Fatalf("partition %d: offset %d, want %d (dense offsets)", r.Partition, r.Offset, next[r.Partition])
				}
				next[r.Partition]++
				if len(r.Headers) != 1 || r.Headers[0].Key != "h" {
					t.Fatalf("headers lost: %+v", r.Headers)
				}
				got[string(r.Value)] = true
			})
		}
		if len(got) != n {
			t.Fatalf("got %d distinct records, want %d", len(got), n)
		}
	}
	check(tb.addr())
	dir := tb.dir
	tb.Close()
	tb2 := startTestBroker(t, dir)
	check(tb2.addr())
}

func TestBrokerApiVersions(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr())
	resp := send[*kmsg.ApiVersionsResponse](t, c, kmsg.NewPtrApiVersionsRequest())
	if resp.ErrorCode != 0 || len(resp.ApiKeys) != len(apis) {
		t.Fatalf("ApiVersions: code %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
	// Every advertised range must be encodable by kmsg.
	for _, k := range resp.ApiKeys {
		if max := kmsg.RequestForKey(k.ApiKey).MaxVersion(); k.MaxVersion > max || k.MinVersion > k.MaxVersion {
			t.Errorf("key %d: %d-%d, kmsg max %d", k.ApiKey, k.MinVersion, k.MaxVersion, max)
		}
	}
}

// TestProtocolApiVersionsFallback sends an ApiVersions request of a version
// the broker does not know: the answer is a v0 body with UNSUPPORTED_VERSION
// and the key list, with a v0 response header.
func TestProtocolApiVersionsFallback(t *testing.T) {
	tb := startTestBroker(t, "")
	conn := dialRaw(t, tb.addr())
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 4
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("x")).AppendRequest(nil, req, 9)
	frame[6], frame[7] = 0, 99 // version 99
	body := roundTrip(t, conn, frame)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body[8:]); err != nil { // size, correlation id, no header tags
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("fallback: code %d keys %d", resp.ErrorCode, len(resp.ApiKeys))
	}
}

func TestBrokerErrors(t *testing.T) {
	tb := startTestBroker(t, "", func(c *Config) { c.AutoCreateTopics = false })
	c := newClient(t, tb.addr())
	createTopic(t, c, "t", 2)

	// Unknown topic and partition on produce and fetch.
	rec := validBatch(t)
	pr := produceReq("nope", 0, rec)
	if code := send[*kmsg.ProduceResponse](t, c, pr).Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %s", errName(code))
	}
	if code := send[*kmsg.ProduceResponse](t, c, produceReq("t", 5, rec)).Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: %s", errName(code))
	}
	// A batch with a CRC mismatch is CORRUPT_MESSAGE and stores nothing.
	bad := append([]byte(nil), rec...)
	bad[len(bad)-1] ^= 0xff
	if code := send[*kmsg.ProduceResponse](t, c, produceReq("t", 0, bad)).Topics[0].Partitions[0].ErrorCode; code != kerr.CorruptMessage.Code {
		t.Fatalf("bad crc: %s", errName(code))
	}
	wrongMagic := append([]byte(nil), rec...)
	wrongMagic[16] = 1
	if code := send[*kmsg.ProduceResponse](t, c, produceReq("t", 0, wrongMagic)).Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRecord.Code {
		t.Fatalf("wrong magic: %s", errName(code))
	}
	// A truncated batch is INVALID_RECORD, as Kafka answers: it finds no
	// batch in the records (kafka_answers_test.go has the other cases).
	short := rec[:len(rec)-3]
	if code := send[*kmsg.ProduceResponse](t, c, produceReq("t", 0, short)).Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRecord.Code {
		t.Fatalf("truncated batch: %s", errName(code))
	}
	if _, hw := tb.topic("t").parts[0].Offsets(); hw != 0 {
		t.Fatalf("corrupt batches stored: hw %d", hw)
	}
	// Too large for max.message.bytes.
	createTopic(t, c, "small", 1, "max.message.bytes", "10")
	if code := send[*kmsg.ProduceResponse](t, c, produceReq("small", 0, rec)).Topics[0].Partitions[0].ErrorCode; code != kerr.MessageTooLarge.Code {
		t.Fatalf("too large: %s", errName(code))
	}
	// Invalid acks (over raw TCP: kgo rewrites acks to its own setting).
	pr = produceReq("t", 0, rec)
	pr.Acks = 2
	pr.Version = 9
	if code := rawSend(t, dialRaw(t, tb.addr()), pr).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks=2: %s", errName(code))
	}
	// Fetch beyond the end.
	fr := kmsg.NewPtrFetchRequest()
	fr.Version = 11
	fr.MaxBytes = 1 << 20
	fr.SessionEpoch = -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 10, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	if code := rawSend(t, dialRaw(t, tb.addr()), fr).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch past end: %s", errName(code))
	}
	// CreateTopics errors.
	for _, tc := range []struct {
		name  string
		parts int32
		rf    int16
		cfg   []string
		want  *kerr.Error
	}{
		{"t", 1, 1, nil, kerr.TopicAlreadyExists},
		{"bad name!", 1, 1, nil, kerr.InvalidTopicException},
		{"p0", 0, 1, nil, kerr.InvalidPartitions},
		{"rf3", 1, 3, nil, kerr.InvalidReplicationFactor},
		{"cfg", 1, 1, []string{"retention.ms", "soon"}, kerr.InvalidConfig},
		{"cfg2", 1, 1, []string{"no.such.config", "1"}, kerr.InvalidConfig},
	} {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = tc.name, tc.parts, tc.rf
		for i := 0; i+1 < len(tc.cfg); i += 2 {
			rt.Configs = append(rt.Configs, kmsg.CreateTopicsRequestTopicConfig{Name: tc.cfg[i], Value: &tc.cfg[i+1]})
		}
		req.Topics = append(req.Topics, rt)
		if code := send[*kmsg.CreateTopicsResponse](t, c, req).Topics[0].ErrorCode; code != tc.want.Code {
			t.Errorf("create %q: %s, want %s", tc.name, errName(code), tc.want.Message)
		}
	}
}

func validBatch(t testing.TB) []byte {
	t.Helper()
	now := time.Now().UnixMilli()
	b, err := protocol.BuildBatch(protocol.BatchHeader{BaseTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]protocol.Record{{Key: []byte("k"), Value: []byte("value")}}, protocol.CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func produceReq(topic string, part int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = part, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestBrokerRetentionAndDeleteRecords(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("r"))
	createTopic(t, c, "r", 1, "retention.ms", "3600000")
	for i := range 10 {
		res := c.ProduceSync(ctxT(t), &kgo.Record{Value: fmt.Appendf(nil, "%d", i)})
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p := tb.topic("r").parts[0]
	tb.applyRetention(time.Now())
	if start, _ := p.Offsets(); start != 0 {
		t.Fatalf("retention deleted young records: start %d", start)
	}
	tb.applyRetention(time.Now().Add(2 * time.Hour))
	if start, hw := p.Offsets(); start != 10 || hw != 10 {
		t.Fatalf("after retention: %d-%d", start, hw)
	}
	// DeleteRecords past the end is OFFSET_OUT_OF_RANGE.
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dt := kmsg.NewDeleteRecordsRequestTopic()
	dt.Topic = "r"
	dt.Partitions = []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: 50}}
	dr.Topics = append(dr.Topics, dt)
	if code := send[*kmsg.DeleteRecordsResponse](t, c, dr).Topics[0].Partitions[0].ErrorCode; code != kerr.OffsetOutOfRange.Code {
		t.Fatalf("delete records past end: %s", errName(code))
	}
}

func TestBrokerTopicDeleteRemovesData(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("gone"))
	createTopic(t, c, "gone", 2)
	if err := c.ProduceSync(ctxT(t), &kgo.Record{Value: bytes.Repeat([]byte("x"), 1000)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	groups := tb.topic("gone").meta.Groups
	segDir := func(g uint64) string { return filepath.Join(tb.dir, "segments", fmt.Sprintf("%016x", g)) }
	written := 0
	for _, g := range groups {
		if _, err := os.Stat(segDir(g)); err == nil {
			written++
		}
	}
	if written == 0 {
		t.Fatalf("no segment folder under %s for the topic's groups %v", filepath.Join(tb.dir, "segments"), groups)
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{"gone"} // kgo picks the version: fill both forms
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: strp("gone")}}
	if code := send[*kmsg.DeleteTopicsResponse](t, c, req).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("delete: %s", errName(code))
	}
	left, err := tb.store.Groups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range left {
		for _, gone := range groups {
			if g == gone {
				t.Fatalf("data of deleted partition group %d still on disk", g)
			}
		}
	}
	for _, g := range groups {
		if _, err := os.Stat(segDir(g)); !os.IsNotExist(err) {
			t.Fatalf("segments of deleted partition group %d still on disk (%v)", g, err)
		}
	}
	if tb.topic("gone") != nil {
		t.Fatal("topic still in metadata")
	}
}

// TestBrokerSegmentBytes: a topic's segment.bytes is the size at which its
// partitions' segment files roll over, set at creation or altered later.
func TestBrokerSegmentBytes(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("seg"), kgo.ProducerBatchMaxBytes(1<<20))
	createTopic(t, c, "seg", 1, "segment.bytes", "1048576")
	dir := filepath.Join(tb.dir, "segments", fmt.Sprintf("%016x", tb.topic("seg").meta.Groups[0]))
	files := func() int {
		names, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	produce := func(n int) {
		for range n {
			v := make([]byte, 200<<10)
			rand.Read(v) // incompressible: the client compresses
			if err := c.ProduceSync(ctxT(t), &kgo.Record{Value: v}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(16) // 3.2 MB: at least 3 rolls at 1 MiB
	if n := files(); n < 4 {
		t.Fatalf("%d segment files after 3.2 MB with segment.bytes 1 MiB, want at least 4", n)
	}
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "seg"
	ir.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		{Name: "segment.bytes", Op: kmsg.IncrementalAlterConfigOpSet, Value: strp("104857600")},
	}
	inc.Resources = append(inc.Resources, ir)
	if code := send[*kmsg.IncrementalAlterConfigsResponse](t, c, inc).Resources[0].ErrorCode; code != 0 {
		t.Fatalf("incremental alter: %s", errName(code))
	}
	before := files()
	produce(16)
	if n := files(); n > before+1 {
		t.Fatalf("%d segment files after 3.2 MB more with segment.bytes 100 MiB, had %d", n, before)
	}
}

func TestBrokerConfigs(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr())
	createTopic(t, c, "cfg", 1, "retention.ms", "1000")
	describe := func() map[string]kmsg.DescribeConfigsResponseResourceConfig {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.IncludeSynonyms = true
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
		req.Resources = append(req.Resources, rr)
		out := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
		for _, cfg := range send[*kmsg.DescribeConfigsResponse](t, c, req).Resources[0].Configs {
			out[cfg.Name] = cfg
		}
		return out
	}
	got := describe()
	if v := got["retention.ms"]; *v.Value != "1000" || v.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms: %v %v", *v.Value, v.Source)
	}
	if v := got["cleanup.policy"]; *v.Value != "delete" || v.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("cleanup.policy: %v %v", *v.Value, v.Source)
	}
	inc := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ir := kmsg.NewIncrementalAlterConfigsRequestResource()
	ir.ResourceType, ir.ResourceName = kmsg.ConfigResourceTypeTopic, "cfg"
	ir.Configs = []kmsg.IncrementalAlterConfigsRequestResourceConfig{
		{Name: "retention.ms", Op: kmsg.IncrementalAlterConfigOpDelete},
		{Name: "message.timestamp.type", Op: kmsg.IncrementalAlterConfigOpSet, Value: strp("LogAppendTime")},
	}
	inc.Resources = append(inc.Resources, ir)
	if code := send[*kmsg.IncrementalAlterConfigsResponse](t, c, inc).Resources[0].ErrorCode; code != 0 {
		t.Fatalf("incremental alter: %s", errName(code))
	}
	got = describe()
	// log.retention.ms has no default in Kafka, which then lists no synonym.
	if v := got["retention.ms"]; v.Source != kmsg.ConfigSourceDefaultConfig || len(v.ConfigSynonyms) != 0 {
		t.Fatalf("retention.ms after delete: %v, synonyms %v", v.Source, v.ConfigSynonyms)
	}
	// LogAppendTime now applies to produced batches.
	before := time.Now().UnixMilli()
	pc := newClient(t, tb.addr(), kgo.DefaultProduceTopic("cfg"))
	res := pc.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("x"), Timestamp: time.Unix(1, 0)})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons := newClient(t, tb.addr(), kgo.ConsumeTopics("cfg"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollFetches(ctxT(t))
	if fs.NumRecords() != 1 {
		t.Fatalf("consumed %d records: %v", fs.NumRecords(), fs.Err())
	}
	if r := fs.Records()[0]; r.Timestamp.UnixMilli() < before || r.Attrs.TimestampType() != 1 {
		t.Fatalf("LogAppendTime not applied: %d < %d (type %d)", r.Timestamp.UnixMilli(), before, r.Attrs.TimestampType())
	}
}

func TestBrokerListOffsetsAndEpochs(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("lo"))
	createTopic(t, c, "lo", 1)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 5 {
		rec := &kgo.Record{Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Minute)}
		if err := c.ProduceSync(ctxT(t), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	lo := func(ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp = ts
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return send[*kmsg.ListOffsetsResponse](t, c, req).Topics[0].Partitions[0]
	}
	if p := lo(-2); p.Offset != 0 {
		t.Fatalf("earliest %d", p.Offset)
	}
	if p := lo(-1); p.Offset != 5 {
		t.Fatalf("latest %d", p.Offset)
	}
	if p := lo(base.Add(150 * time.Second).UnixMilli()); p.Offset != 3 {
		t.Fatalf("by timestamp %d", p.Offset)
	}
	if p := lo(-3); p.Offset != 4 || p.Timestamp != base.Add(4*time.Minute).UnixMilli() {
		t.Fatalf("max timestamp %d at %d", p.Offset, p.Timestamp)
	}
	if p := lo(time.Now().Add(time.Hour).UnixMilli()); p.Offset != -1 {
		t.Fatalf("future %d", p.Offset)
	}
	epoch := lo(-1).LeaderEpoch
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "lo"
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.LeaderEpoch, rp.CurrentLeaderEpoch = epoch, epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	got := send[*kmsg.OffsetForLeaderEpochResponse](t, c, req).Topics[0].Partitions[0]
	if got.ErrorCode != 0 || got.EndOffset != 5 || got.LeaderEpoch != epoch {
		t.Fatalf("offset for leader epoch: %+v", got)
	}
	rp.CurrentLeaderEpoch = epoch + 1
	req.Topics[0].Partitions[0] = rp
	if code := send[*kmsg.OffsetForLeaderEpochResponse](t, c, req).Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("newer epoch: %s", errName(code))
	}
}

func TestBrokerIdempotentAndLongPoll(t *testing.T) {
	tb := startTestBroker(t, "")
	c := newClient(t, tb.addr(), kgo.DefaultProduceTopic("lp"))
	createTopic(t, c, "lp", 1)
	cons := newClient(t, tb.addr(), kgo.ConsumeTopics("lp"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(5*time.Second))
	got := make(chan time.Time, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			fs := cons.PollFetches(ctx)
			if fs.NumRecords() > 0 || ctx.Err() != nil {
				got <- time.Now()
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	if err := c.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if at := <-got; at.Sub(sent) > 2*time.Second {
		t.Fatalf("long poll did not wake on produce: %v", at.Sub(sent))
	}
}
