package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/wasmbuild"
)

// Tests of SmartModules inside the broker: produce time, read-time views and
// topic-to-topic deployments, with example modules built from
// transforms/examples, stored through the admin API over real HTTP, and
// real franz-go clients.

// exampleModule builds transforms/examples/NAME for wasip1.
func exampleModule(t testing.TB, name string) []byte { return wasmbuild.Example(t, name) }

// wasmModule builds package pkg of the Go module in dir (relative to the
// repository root) for wasip1.
func wasmModule(t testing.TB, dir, pkg string) []byte { return wasmbuild.Build(t, dir, pkg) }

// smTest is a broker with its admin API on an httptest server.
type smTest struct {
	*testBroker
	admin string
	c     *kgo.Client
}

// wasmCache is the compilation cache the tests' brokers share (each module
// compiles once per machine).
var wasmCache = wasmbuild.CacheDir

func startSMTest(t *testing.T, dir string) *smTest {
	t.Helper()
	tb := startTestBroker(t, dir, func(c *Config) { c.TransformCacheDir = wasmCache() })
	srv := httptest.NewServer(tb.AdminHandler())
	t.Cleanup(srv.Close)
	return &smTest{testBroker: tb, admin: srv.URL, c: newClient(t, tb.addr())}
}

func (s *smTest) do(t *testing.T, method, path string, body []byte, wantStatus int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, s.admin+path, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, buf.String())
	}
	return buf.Bytes()
}

func (s *smTest) storeModule(t *testing.T, name, example string) {
	t.Helper()
	s.do(t, "POST", "/v1/smartmodules/"+name, exampleModule(t, example), http.StatusCreated)
}

// readAllRecords consumes a topic from the start until it has n records or
// the deadline passes.
func readAllRecords(t *testing.T, addr, topic string, n int) []*kgo.Record {
	return readRecordsFor(t, addr, topic, n, 20*time.Second)
}

// readRecordsFor is readAllRecords with a deadline: to show that no more
// than n-1 records arrive, ask for n for a short while.
func readRecordsFor(t *testing.T, addr, topic string, n int, d time.Duration) []*kgo.Record {
	t.Helper()
	c := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		fs := c.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s: %v", topic, e.Err)
			}
		}
	}
	return out
}

func values(rs []*kgo.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Value)
	}
	return out
}

const keepSpec = "transforms:\n  - uses: keep\n    with:\n      regex: \"^keep\"\n"

func TestSmartModuleIngestFilter(t *testing.T) {
	s := startSMTest(t, "")
	s.storeModule(t, "keep", "regex-filter")
	createTopic(t, s.c, "in", 1, cfgIngestTransforms, keepSpec)

	// franz-go produces idempotently: batches the filter empties or shrinks
	// must keep the producer's sequence numbers in step.
	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("in"))
	for round := range 3 {
		var recs []*kgo.Record
		for i := range 4 {
			v := fmt.Sprintf("drop %d.%d", round, i)
			if round != 1 && i%2 == 0 { // round 1: everything is dropped
				v = fmt.Sprintf("keep %d.%d", round, i)
			}
			recs = append(recs, &kgo.Record{Value: []byte(v)})
		}
		if err := p.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	got := readAllRecords(t, s.addr(), "in", 4)
	want := []string{"keep 0.0", "keep 0.2", "keep 2.0", "keep 2.2"}
	if !slices.Equal(values(got), want) {
		t.Fatalf("stored %q, want %q", values(got), want)
	}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d at offset %d: a produce-time filter stores dense offsets", i, r.Offset)
		}
	}
}

func TestSmartModuleIngestPolicies(t *testing.T) {
	s := startSMTest(t, "")
	s.storeModule(t, "proj", "json-projection")
	spec := "transforms:\n  - uses: proj\n    with:\n      fields: id\n"
	createTopic(t, s.c, "strict", 1, cfgIngestTransforms, spec)
	createTopic(t, s.c, "dlq", 1)
	createTopic(t, s.c, "lenient", 1, cfgIngestTransforms, spec, cfgIngestPolicy, "dead-letter:dlq")

	p := newClient(t, s.addr(), kgo.ProducerLinger(50*time.Millisecond))
	bad := []*kgo.Record{{Topic: "strict", Value: []byte(`{"id":1,"x":2}`)}, {Topic: "strict", Value: []byte("not json")}}
	err := p.ProduceSync(ctxT(t), bad...).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("produce with a failing module under fail: %v, want INVALID_RECORD", err)
	}
	if _, hw := s.topic("strict").parts[0].Offsets(); hw != 0 {
		t.Fatalf("strict holds %d records after a failed batch; want none of it stored", hw)
	}

	recs := []*kgo.Record{
		{Topic: "lenient", Value: []byte(`{"id":1,"x":2}`)},
		{Topic: "lenient", Value: []byte("not json"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		{Topic: "lenient", Value: []byte(`{"id":3}`)},
	}
	if err := p.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := values(readAllRecords(t, s.addr(), "lenient", 2)); !slices.Equal(got, []string{`{"id":1}`, `{"id":3}`}) {
		t.Fatalf("lenient holds %q", got)
	}
	dead := readAllRecords(t, s.addr(), "dlq", 1)
	if len(dead) != 1 || string(dead[0].Value) != "not json" {
		t.Fatalf("dead letters %q", values(dead))
	}
	hs := map[string]string{}
	for _, h := range dead[0].Headers {
		hs[h.Key] = string(h.Value)
	}
	if hs["h"] != "v" || hs["skiff.module"] != "proj" || hs["skiff.source.topic"] != "lenient" || hs["skiff.source.partition"] != "0" || hs["skiff.error"] == "" {
		t.Fatalf("dead letter headers %v", hs)
	}
}

func TestSmartModuleView(t *testing.T) {
	s := startSMTest(t, "")
	s.storeModule(t, "keep", "regex-filter")
	s.storeModule(t, "split", "word-split")
	createTopic(t, s.c, "src", 2)
	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("src"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 10 {
		v := fmt.Sprintf("drop %d", i)
		if i%3 == 0 {
			v = fmt.Sprintf("keep %d", i)
		}
		recs = append(recs, &kgo.Record{Value: []byte(v), Partition: int32(i % 2)})
	}
	if err := p.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	code, msg := createTopicErr(t, s.c, "words", -1, cfgViewOf, "src", cfgViewTransforms, "transforms:\n  - uses: split\n")
	if code != kerr.InvalidConfig.Code || !strings.Contains(msg, "more than one record per input") {
		t.Fatalf("view with an array-map: %s %q, want INVALID_CONFIG naming the reason", errName(code), msg)
	}
	if code, msg := createTopicErr(t, s.c, "v", -1, cfgViewOf, "src", cfgViewTransforms, keepSpec); code != 0 {
		t.Fatalf("create view: %s %s", errName(code), msg)
	}
	md := send[*kmsg.MetadataResponse](t, s.c, kmsg.NewPtrMetadataRequest())
	for _, mt := range md.Topics {
		if *mt.Topic == "v" && len(mt.Partitions) != 2 {
			t.Fatalf("view has %d partitions, want its source's 2", len(mt.Partitions))
		}
	}
	got := readAllRecords(t, s.addr(), "v", 4)
	byPart := map[int32][]string{}
	for _, r := range got {
		byPart[r.Partition] = append(byPart[r.Partition], fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	// Partition 0 has records 0,2,4,6,8 at offsets 0-4; keep 0 and 6.
	// Partition 1 has 1,3,5,7,9; keep 3 and 9: source offsets are kept.
	if !slices.Equal(byPart[0], []string{"0:keep 0", "3:keep 6"}) || !slices.Equal(byPart[1], []string{"1:keep 3", "4:keep 9"}) {
		t.Fatalf("view read %v", byPart)
	}
	// A consumer of the view stays at the source's end: a fetch past the
	// filtered tail does not stall it.
	pr := p.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("keep late"), Partition: 0})
	if err := pr.FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := readAllRecords(t, s.addr(), "v", 5); len(got) != 5 {
		t.Fatalf("view after one more record: %d records", len(got))
	}
	// Producing to a view is refused.
	err := newClient(t, s.addr()).ProduceSync(ctxT(t), &kgo.Record{Topic: "v", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to a view: %v", err)
	}
	// The source cannot be deleted under its view.
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames = []string{"src"}
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("src")
	del.Topics = append(del.Topics, dt)
	if r := send[*kmsg.DeleteTopicsResponse](t, s.c, del); r.Topics[0].ErrorCode == 0 {
		t.Fatal("deleting the source of a view succeeded")
	}
}

func TestSmartModuleDeploy(t *testing.T) {
	dir := t.TempDir()
	s := startSMTest(t, dir)
	s.storeModule(t, "split", "word-split")
	createTopic(t, s.c, "lines", 2)
	createTopic(t, s.c, "words", 1)
	body, _ := json.Marshal(DeployRequest{Name: "wc", Input: "lines", Outputs: []string{"words"}, Module: "split"})
	s.do(t, "POST", "/v1/transforms", body, http.StatusCreated)
	s.do(t, "POST", "/v1/transforms", body, http.StatusConflict)

	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("lines"))
	produce := func(lines ...string) {
		var recs []*kgo.Record
		for _, l := range lines {
			recs = append(recs, &kgo.Record{Value: []byte(l)})
		}
		if err := p.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce("a b c", "d e", "f")
	if got := readAllRecords(t, s.addr(), "words", 6); len(got) != 6 {
		t.Fatalf("words: %q", values(got))
	}
	waitLag0 := func(s *smTest) TransformStatus {
		t.Helper()
		var st TransformStatus
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			json.Unmarshal(s.do(t, "GET", "/v1/transforms/wc", nil, http.StatusOK), &st)
			lag := int64(0)
			for _, p := range st.Partitions {
				lag += p.Lag
			}
			if st.State == "running" && len(st.Partitions) == 2 && lag == 0 {
				return st
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("transform did not catch up: %+v", st)
		return st
	}
	st := waitLag0(s)
	if len(st.Steps) != 1 || st.Steps[0].RecordsIn != 3 || st.Steps[0].RecordsOut != 6 {
		t.Fatalf("steps %+v", st.Steps)
	}

	// Progress survives a restart: nothing is written twice.
	s.Close()
	s = startSMTest(t, dir)
	p = newClient(t, s.addr(), kgo.DefaultProduceTopic("lines"))
	produce("g h")
	if got := readAllRecords(t, s.addr(), "words", 8); len(got) != 8 {
		t.Fatalf("after restart: %d words, want 8", len(got))
	}
	got := readRecordsFor(t, s.addr(), "words", 9, time.Second) // a duplicate would arrive now
	if len(got) != 8 {
		t.Fatalf("after restart: %d words %q, want 8", len(got), values(got))
	}
	words := values(got)
	slices.Sort(words)
	if !slices.Equal(words, []string{"a", "b", "c", "d", "e", "f", "g", "h"}) {
		t.Fatalf("words %q", words)
	}
	waitLag0(s)

	// Paused, it writes nothing; resumed, it catches up.
	s.do(t, "POST", "/v1/transforms/wc/pause", nil, http.StatusOK)
	produce("i")
	if got := readRecordsFor(t, s.addr(), "words", 9, time.Second); len(got) != 8 {
		t.Fatalf("paused transform wrote: %q", values(got))
	}
	s.do(t, "POST", "/v1/transforms/wc/resume", nil, http.StatusOK)
	if got := readAllRecords(t, s.addr(), "words", 9); len(got) != 9 {
		t.Fatalf("resumed transform: %q", values(got))
	}
	s.do(t, "DELETE", "/v1/smartmodules/split", nil, http.StatusConflict)
	s.do(t, "DELETE", "/v1/transforms/wc", nil, http.StatusOK)
	s.do(t, "GET", "/v1/transforms/wc", nil, http.StatusNotFound)
	s.do(t, "DELETE", "/v1/smartmodules/split", nil, http.StatusOK)
}

// TestSmartModuleDeployRedpandaModule: a transform built with Redpanda's Go
// SDK v1.1.0 runs unchanged as a deployment: its --var reaches it as an
// environment variable, write_record goes to the first output and
// write_record_with_options to the one it names; key, headers and
// timestamps pass through.
func TestSmartModuleDeployRedpandaModule(t *testing.T) {
	s := startSMTest(t, "")
	s.do(t, "POST", "/v1/smartmodules/route", wasmModule(t, "transforms/testdata/redpanda-identity", "./route"), http.StatusCreated)
	for _, topic := range []string{"in", "copy", "echo"} {
		createTopic(t, s.c, topic, 1)
	}
	body, _ := json.Marshal(DeployRequest{Name: "rp", Input: "in", Outputs: []string{"copy", "echo"}, Module: "route", Env: map[string]string{"ROUTE_TO": "echo"}})
	s.do(t, "POST", "/v1/transforms", body, http.StatusCreated)
	ts := time.UnixMilli(time.Now().UnixMilli() - 60_000)
	in := &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("v"), Timestamp: ts, Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("1")}}}
	if err := s.c.ProduceSync(ctxT(t), in).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]string{"copy": "v", "echo": "echo:v"} {
		got := readAllRecords(t, s.addr(), topic, 1)
		if len(got) != 1 {
			t.Fatalf("%s: %d records", topic, len(got))
		}
		r := got[0]
		if string(r.Value) != want || string(r.Key) != "k" || !r.Timestamp.Equal(ts) || len(r.Headers) != 1 || r.Headers[0].Key != "h" {
			t.Fatalf("%s: got key %q value %q ts %v headers %v; want the input's key, timestamp and headers and value %q", topic, r.Key, r.Value, r.Timestamp, r.Headers, want)
		}
	}
}

// TestSmartModuleDeployLookback: an aggregate deployed from the end of its
// input replays the last records its lookback names, so its count starts
// from them; and after a restart it replays them again instead of starting
// from zero.
func TestSmartModuleDeployLookback(t *testing.T) {
	dir := t.TempDir()
	s := startSMTest(t, dir)
	s.storeModule(t, "count", "running-count")
	createTopic(t, s.c, "ev", 1)
	createTopic(t, s.c, "counts", 1)
	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("ev"))
	produce := func(n int) {
		t.Helper()
		for range n {
			if err := p.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("e")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(5)
	spec := "transforms:\n  - uses: count\n    lookback:\n      last: 3\n"
	body, _ := json.Marshal(DeployRequest{Name: "c", Input: "ev", Outputs: []string{"counts"}, Spec: spec, From: "latest"})
	s.do(t, "POST", "/v1/transforms", body, http.StatusCreated)
	var st TransformStatus
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		json.Unmarshal(s.do(t, "GET", "/v1/transforms/c", nil, http.StatusOK), &st)
		if len(st.Partitions) == 1 && st.Partitions[0].State == "idle" {
			break
		}
	}
	produce(1)
	if got := values(readAllRecords(t, s.addr(), "counts", 1)); !slices.Equal(got, []string{"4"}) {
		t.Fatalf("counts %q, want [4]: 3 replayed by the lookback, then 1", got)
	}
	s.Close()
	s = startSMTest(t, dir)
	p = newClient(t, s.addr(), kgo.DefaultProduceTopic("ev"))
	produce(1)
	if got := values(readAllRecords(t, s.addr(), "counts", 2)); !slices.Equal(got, []string{"4", "4"}) {
		t.Fatalf("counts after restart %q, want [4 4]: the last 3 replayed again, then 1", got)
	}
}

// TestSmartModuleHostileAtProduce: a produce-time module that loops
// forever, exhausts its memory, panics, fails or writes to a topic that is
// not an output costs the producer that batch (INVALID_RECORD, with the
// reason in the message) and nothing else: nothing of the batch is stored
// and the next batch goes through on a fresh instance.
func TestSmartModuleHostileAtProduce(t *testing.T) {
	tb := startTestBroker(t, "", func(c *Config) {
		c.TransformCacheDir = wasmCache()
		c.TransformBatchTimeout = 500 * time.Millisecond
	})
	srv := httptest.NewServer(tb.AdminHandler())
	t.Cleanup(srv.Close)
	s := &smTest{testBroker: tb, admin: srv.URL, c: newClient(t, tb.addr())}
	s.do(t, "POST", "/v1/smartmodules/hostile", wasmModule(t, ".", "./transforms/testdata/hostile"), http.StatusCreated)
	createTopic(t, s.c, "h", 1, cfgIngestTransforms, "transforms:\n  - uses: hostile\n")
	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("h"), kgo.DisableIdempotentWrite(), kgo.RecordRetries(0))
	stored := 0
	for _, c := range []struct{ value, want string }{
		{"spin", "time limit"},
		{"bomb", "memory limit"},
		{"panic", "hostile module panics on purpose"},
		{"error", "hostile module fails on purpose"},
		{"nope", "not an output"},
		{"fine", ""},
	} {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "h"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = testBatchBytes(t, c.value)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := send[*kmsg.ProduceResponse](t, p, req)
		got := resp.Topics[0].Partitions[0]
		msg := ""
		if got.ErrorMessage != nil {
			msg = *got.ErrorMessage
		}
		if c.want == "" {
			if got.ErrorCode != 0 {
				t.Fatalf("%s after the hostile batches: %s %s", c.value, errName(got.ErrorCode), msg)
			}
			stored++
			continue
		}
		if got.ErrorCode != kerr.InvalidRecord.Code || !strings.Contains(msg, c.want) {
			t.Fatalf("%s: %s %q, want INVALID_RECORD mentioning %q", c.value, errName(got.ErrorCode), msg, c.want)
		}
	}
	if _, hw := s.topic("h").parts[0].Offsets(); hw != int64(stored) {
		t.Fatalf("%d records stored, want %d", hw, stored)
	}
}

// testBatchBytes is a batch of one record with the given value.
func testBatchBytes(t testing.TB, value string) []byte {
	t.Helper()
	now := time.Now().UnixMilli()
	b, err := protocol.BuildBatch(protocol.BatchHeader{BaseTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]protocol.Record{{Value: []byte(value)}}, protocol.CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSmartModuleDeployExactlyOnce: a deployment that stops after writing
// its outputs and before committing its progress (as a crash would) writes
// nothing twice when it starts again: the replayed batches are duplicates
// of its producer id and sequences at each output partition.
func TestSmartModuleDeployExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	s := startSMTest(t, dir)
	s.storeModule(t, "split", "word-split")
	createTopic(t, s.c, "lines", 1)
	createTopic(t, s.c, "words", 1)
	p := newClient(t, s.addr(), kgo.DefaultProduceTopic("lines"))
	for i := range 10 { // ten batches: more than one round
		if err := p.ProduceSync(ctxT(t), &kgo.Record{Value: []byte(fmt.Sprintf("w%d x%d", i, i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	crashed := make(chan struct{})
	var once sync.Once
	deployTestHookAfterAppend = func(string) error {
		err := errors.New("crash")
		once.Do(func() { close(crashed) })
		return err
	}
	t.Cleanup(func() { deployTestHookAfterAppend = nil })
	body, _ := json.Marshal(DeployRequest{Name: "eo", Input: "lines", Outputs: []string{"words"}, Module: "split"})
	s.do(t, "POST", "/v1/transforms", body, http.StatusCreated)
	select {
	case <-crashed:
	case <-time.After(20 * time.Second):
		t.Fatal("the deployment wrote nothing")
	}
	if got := readAllRecords(t, s.addr(), "words", 8); len(got) != 8 {
		t.Fatalf("before the crash: %d words, want 8 (one round of 4 lines)", len(got))
	}
	s.Close()
	deployTestHookAfterAppend = nil
	s = startSMTest(t, dir)
	got := readAllRecords(t, s.addr(), "words", 20)
	if extra := readRecordsFor(t, s.addr(), "words", 21, time.Second); len(extra) != 20 {
		t.Fatalf("after the replay: %d words, want 20 exactly", len(extra))
	}
	for i, r := range got {
		want := fmt.Sprintf("w%d", i/2)
		if i%2 == 1 {
			want = fmt.Sprintf("x%d", i/2)
		}
		if string(r.Value) != want || r.Offset != int64(i) {
			t.Fatalf("word %d: %q at %d, want %q at %d", i, r.Value, r.Offset, want, i)
		}
	}
}

// TestSmartModuleFilterMapView: a filter-map module (one record or none per
// input) in a view: records without a key are dropped, the others come out
// upper-cased at their source offsets, to a franz-go consumer.
func TestSmartModuleFilterMapView(t *testing.T) {
	s := startSMTest(t, "")
	s.do(t, "POST", "/v1/smartmodules/upper", wasmModule(t, ".", "./transforms/testdata/filter-map"), http.StatusCreated)
	createTopic(t, s.c, "raw", 1)
	recs := []*kgo.Record{
		{Topic: "raw", Key: []byte("a"), Value: []byte("one")},
		{Topic: "raw", Value: []byte("no key")},
		{Topic: "raw", Key: []byte("c"), Value: []byte("three")},
	}
	if err := s.c.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code, msg := createTopicErr(t, s.c, "upper-view", -1, cfgViewOf, "raw", cfgViewTransforms, "transforms:\n  - uses: upper\n"); code != 0 {
		t.Fatalf("create view: %s %s", errName(code), msg)
	}
	got := readAllRecords(t, s.addr(), "upper-view", 2)
	if len(got) != 2 || string(got[0].Value) != "ONE" || got[0].Offset != 0 || string(got[1].Value) != "THREE" || got[1].Offset != 2 {
		t.Fatalf("view: %q", values(got))
	}
}

// TestSmartModuleViewTailWaits: a fetch at a view's filtered tail holds for
// MaxWait (empty batches are not data for MinBytes) and then answers one
// empty batch spanning the tail, so a consumer moves past it without
// spinning.
func TestSmartModuleViewTailWaits(t *testing.T) {
	s := startSMTest(t, "")
	createTopic(t, s.c, "src", 1)
	recs := []*kgo.Record{{Topic: "src", Value: []byte("keep 1")}, {Topic: "src", Value: []byte("drop 2")}}
	for _, r := range recs { // two batches
		if err := s.c.ProduceSync(ctxT(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if code, msg := createTopicErr(t, s.c, "v", -1, cfgViewOf, "src", cfgViewTransforms, "transforms:\n  - uses: regex-filter\n    with:\n      regex: ^keep\n"); code != 0 {
		t.Fatalf("create view: %s %s", errName(code), msg)
	}
	fetch := func(offset int64) (*kmsg.FetchResponseTopicPartition, time.Duration) {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 400, 1, 1<<20
		req.SessionEpoch = -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "v"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = offset, 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		start := time.Now()
		resp := send[*kmsg.FetchResponse](t, newClient(t, s.addr(), kgo.MaxVersions(kversion.V3_0_0())), req)
		return &resp.Topics[0].Partitions[0], time.Since(start)
	}
	rp, _ := fetch(0)
	if h, err := protocol.ParseBatchHeader(rp.RecordBatches); err != nil || h.NumRecords != 1 || h.TotalSize() != len(rp.RecordBatches) {
		t.Fatalf("fetch at 0: want the one batch with a record and no empty batch after it, got %d bytes (%+v, %v)", len(rp.RecordBatches), h, err)
	}
	rp, took := fetch(1)
	h, err := protocol.ParseBatchHeader(rp.RecordBatches)
	if err != nil || h.NumRecords != 0 || h.BaseOffset != 1 || h.LastOffsetDelta != 0 {
		t.Fatalf("fetch at the filtered tail: %+v, %v; want one empty batch at 1", h, err)
	}
	if took < 300*time.Millisecond {
		t.Fatalf("fetch at the filtered tail answered after %v: it should wait for records up to MaxWait (400ms)", took)
	}
}

// TestSmartModuleIngestLyingCodec: a topic with produce-time SmartModules
// does not decompress a batch to validate it (its chain parses it), so a
// batch whose codec flag lies must still be refused with INVALID_RECORD,
// as on a topic without modules, and store nothing.
func TestSmartModuleIngestLyingCodec(t *testing.T) {
	s := startSMTest(t, "")
	createTopic(t, s.c, "in", 1, cfgIngestTransforms, "transforms:\n  - uses: regex-filter\n    with:\n      regex: x\n")
	createTopic(t, s.c, "plain", 1)
	lying := testBatchBytes(t, "not gzip at all")
	lying[22] |= byte(protocol.CodecGzip) // attributes' low byte
	binary.BigEndian.PutUint32(lying[17:], protocol.CRC32C(lying[21:]))
	for _, topic := range []string{"in", "plain"} {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = append([]byte(nil), lying...)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		if code := send[*kmsg.ProduceResponse](t, s.c, req).Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRecord.Code {
			t.Fatalf("%s: %s, want INVALID_RECORD", topic, errName(code))
		}
		if _, hw := s.topic(topic).parts[0].Offsets(); hw != 0 {
			t.Fatalf("%s: %d records stored", topic, hw)
		}
	}
}
