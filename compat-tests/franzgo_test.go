package compat_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompatFranzGo runs the codec suite with franz-go (kgo), which
// negotiates the newest API versions both sides know and produces
// idempotently by default.
func TestCompatFranzGo(t *testing.T) {
	s := harness.Start(t)
	runCodecSuite(t, s, codecClient{
		name:    "franzgo",
		codecs:  []string{"none", "gzip", "snappy", "lz4", "zstd"},
		produce: franzgoProduce,
		consume: franzgoConsume,
	})
}

var franzgoCodecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

func franzgoProduce(ctx context.Context, t *testing.T, addr, topic, codec string, recs []record) ([]record, error) {
	cl := newKgoClient(t, addr,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(franzgoCodecs[codec]),
	)
	return franzgoProduceWith(ctx, cl, recs)
}

// franzgoProduceWith produces recs asynchronously and returns them as
// acknowledged, in send order.
func franzgoProduceWith(ctx context.Context, cl *kgo.Client, recs []record) ([]record, error) {
	acked := make([]record, len(recs))
	var (
		mu   sync.Mutex
		errs []error
	)
	for i, r := range recs {
		kr := &kgo.Record{Key: []byte(r.Key), Value: []byte(r.Value)}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
		}
		cl.Produce(ctx, kr, func(kr *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("record %d: %w", i, err))
				return
			}
			acked[i] = fromKgo(kr)
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, errors.Join(errs...)
}

func fromKgo(kr *kgo.Record) record {
	r := record{Key: string(kr.Key), Value: string(kr.Value), Partition: kr.Partition, Offset: kr.Offset}
	for _, h := range kr.Headers {
		r.Headers = append(r.Headers, header{h.Key, string(h.Value)})
	}
	return r
}

func franzgoConsume(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) ([]record, error) {
	offsets := make(map[int32]kgo.Offset)
	for p := range ends {
		offsets[p] = kgo.NewOffset().At(0)
	}
	cl := newKgoClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	var got []record
	remaining := int64(0)
	for _, end := range ends {
		remaining += end
	}
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return got, fmt.Errorf("%d records still unread: %w", remaining, err)
		}
		var errs []error
		fetches.EachError(func(topic string, p int32, err error) {
			errs = append(errs, fmt.Errorf("fetch %s-%d: %w", topic, p, err))
		})
		if len(errs) > 0 {
			return got, errors.Join(errs...)
		}
		fetches.EachRecord(func(kr *kgo.Record) {
			got = append(got, fromKgo(kr))
			remaining--
		})
	}
	return got, nil
}

// TestCompatFranzGoAdmin walks a topic through its life with kadm: create,
// list, describe, offsets, delete.
func TestCompatFranzGoAdmin(t *testing.T) {
	s := harness.Start(t)
	ctx := testContext(t)
	// kgo caches metadata for MetadataMinAge (5s by default); polling needs
	// every answer fresh.
	cl := newKgoClient(t, s.Addr(), kgo.MetadataMinAge(10*time.Millisecond))
	adm := kadm.NewClient(cl)
	const topic = "compat-admin"

	created, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = created.Err
	}
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if created.NumPartitions != 3 && created.NumPartitions != -1 {
		t.Errorf("CreateTopic answered %d partitions, want 3", created.NumPartitions)
	}
	again, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = again.Err
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Errorf("second CreateTopic: %v, want %v", err, kerr.TopicAlreadyExists)
	}

	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("ListBrokers: %v, %v; want one broker", brokers, err)
	}
	if got, want := fmt.Sprintf("%s:%d", brokers[0].Host, brokers[0].Port), s.Addr(); got != want {
		t.Errorf("broker advertises %s, want %s", got, want)
	}
	leader := brokers[0].NodeID

	waitFor(ctx, t, "topic listed with 3 led partitions", func() error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		td, ok := topics[topic]
		if !ok {
			return fmt.Errorf("ListTopics lacks %s: %v", topic, topics.Names())
		}
		return describeOK(td, 3, leader)
	})
	configs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Errorf("DescribeTopicConfigs: %v", err)
	} else if rc, err := configs.On(topic, nil); err != nil || rc.Err != nil {
		t.Errorf("DescribeTopicConfigs %s: %v %v", topic, err, rc.Err)
	}

	// 5 records in partition 0, 3 in partition 1, none in 2.
	pcl := newKgoClient(t, s.Addr(), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var krs []*kgo.Record
	for i, p := range []int32{0, 0, 1, 0, 1, 0, 1, 0} {
		krs = append(krs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "admin-%d", i)})
	}
	if err := pcl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	checkOffsets(ctx, t, s.Addr(), topic, 3, map[int32]int64{0: 5, 1: 3})

	deleted, err := adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = deleted.Err
	}
	if err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	waitFor(ctx, t, "deleted topic gone", func() error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		if topics.Has(topic) {
			return fmt.Errorf("ListTopics still has %s", topic)
		}
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return err
		}
		if err := md.Topics[topic].Err; !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("metadata for deleted topic: error %v, want %v", err, kerr.UnknownTopicOrPartition)
		}
		return nil
	})
}

// describeOK checks a topic's metadata for a one-broker cluster.
func describeOK(td kadm.TopicDetail, partitions int, leader int32) error {
	if td.Err != nil {
		return td.Err
	}
	if len(td.Partitions) != partitions {
		return fmt.Errorf("%d partitions, want %d", len(td.Partitions), partitions)
	}
	for p := range int32(partitions) {
		pd, ok := td.Partitions[p]
		switch {
		case !ok:
			return fmt.Errorf("partition %d missing", p)
		case pd.Err != nil:
			return fmt.Errorf("partition %d: %w", p, pd.Err)
		case pd.Leader != leader:
			return fmt.Errorf("partition %d led by %d, want %d", p, pd.Leader, leader)
		case len(pd.Replicas) != 1 || pd.Replicas[0] != leader || len(pd.ISR) != 1 || pd.ISR[0] != leader:
			return fmt.Errorf("partition %d: replicas %v, ISR %v; want [%d] for both", p, pd.Replicas, pd.ISR, leader)
		}
	}
	return nil
}

// TestCompatFranzGoIdempotent produces concurrently with franz-go's default
// idempotent producer and checks that every record carries one producer ID
// and comes back exactly once, in order.
func TestCompatFranzGoIdempotent(t *testing.T) {
	s := harness.Start(t)
	ctx := testContext(t)
	const topic = "compat-idempotent"
	harness.CreateTopic(t, s.Addr(), topic, 3)
	cl := newKgoClient(t, s.Addr(),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
	)

	sent := makeRecords("idempotent", 600)
	acked, err := franzgoProduceWith(ctx, cl, sent)
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	checkProduced(t, sent, acked, 3)

	pids := make(map[int64]bool)
	for _, id := range franzgoProducerIDs(ctx, t, s.Addr(), topic, countsByPartition(acked)) {
		pids[id] = true
	}
	if len(pids) != 1 || pids[-1] {
		t.Errorf("batches carry producer IDs %v, want one non-negative ID", pids)
	}
	consumeAndCheck(ctx, t, s.Addr(), topic, codecClient{name: "franzgo", consume: franzgoConsume}, acked)
}

// franzgoProducerIDs returns the producer ID of every stored batch.
func franzgoProducerIDs(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) []int64 {
	t.Helper()
	cl := newKgoClient(t, addr)
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatalf("metadata %s: %v", topic, err)
	}
	var ids []int64
	for p, end := range ends {
		for offset := int64(0); offset < end; {
			batches, err := fetchRaw(ctx, cl, topic, md.Topics[topic].ID, p, offset)
			if err != nil {
				t.Fatalf("fetch %s-%d at %d: %v", topic, p, offset, err)
			}
			for _, b := range batches {
				ids = append(ids, b.ProducerID)
				offset = b.FirstOffset + int64(b.LastOffsetDelta) + 1
			}
		}
	}
	return ids
}

// waitFor polls check until it returns nil, failing the test with the last
// error when ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, check func() error) {
	t.Helper()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
