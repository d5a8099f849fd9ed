package compat_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCompatFranzGoIdempotentRetry does by hand what an idempotent client does
// when a produce times out: it sends the same batch again. The broker must
// keep one copy, reject a sequence gap, and accept the next sequence.
func TestCompatFranzGoIdempotentRetry(t *testing.T) {
	s := harness.Start(t)
	ctx := testContext(t)
	const topic = "compat-idempotent-retry"
	harness.CreateTopic(t, s.Addr(), topic, 1)
	cl := newKgoClient(t, s.Addr())
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	topicID := md.Topics[topic].ID

	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.TransactionTimeoutMillis = 60000
	initResp, err := initReq.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(initResp.ErrorCode)
	}
	if err != nil {
		t.Fatalf("InitProducerID: %v", err)
	}
	pid, epoch := initResp.ProducerID, initResp.ProducerEpoch
	if pid < 0 {
		t.Fatalf("InitProducerID gave producer ID %d", pid)
	}

	produce := func(seq int32, values ...string) (int64, error) {
		t.Helper()
		return produceRaw(ctx, t, cl, topic, topicID, idempotentBatch(pid, epoch, seq, values...))
	}
	if base, err := produce(0, "a", "b"); err != nil || base != 0 {
		t.Fatalf("first produce: base offset %d, %v; want 0, no error", base, err)
	}
	base, err := produce(0, "a", "b")
	switch {
	case errors.Is(err, kerr.DuplicateSequenceNumber):
	case err != nil || base != 0:
		t.Errorf("resent batch: base offset %d, %v; want 0 and no error (or DUPLICATE_SEQUENCE_NUMBER)", base, err)
	}
	if _, err := produce(5, "gap"); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Errorf("batch with sequence 5 after 0-1: %v, want %v", err, kerr.OutOfOrderSequenceNumber)
	}
	checkOffsets(ctx, t, s.Addr(), topic, 1, map[int32]int64{0: 2})
	if base, err := produce(2, "c"); err != nil || base != 2 {
		t.Fatalf("next sequence: base offset %d, %v; want 2, no error", base, err)
	}
	checkOffsets(ctx, t, s.Addr(), topic, 1, map[int32]int64{0: 3})

	got, err := franzgoConsume(ctx, t, s.Addr(), topic, map[int32]int64{0: 3})
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	want := []record{{Value: "a", Offset: 0}, {Value: "b", Offset: 1}, {Value: "c", Offset: 2}}
	checkConsumed(t, want, got)
}

// produceRaw sends one batch to partition 0 with acks=all and returns the
// base offset the broker assigned, or the partition's error.
func produceRaw(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, topicID [16]byte, batch []byte) (int64, error) {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("produce request: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response has %d topics, want 1 with 1 partition", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	return p.BaseOffset, kerr.ErrorForCode(p.ErrorCode)
}

// idempotentBatch encodes an uncompressed record batch of values (null keys)
// from producer pid at epoch, starting at sequence seq.
func idempotentBatch(pid int64, epoch int16, seq int32, values ...string) []byte {
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // everything after the 1-byte varint 0
		records = r.AppendTo(records)
	}
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           int32(len(values)),
		Records:              records,
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}
