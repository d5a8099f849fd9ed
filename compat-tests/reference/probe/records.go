package probe

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produced is one partition's answer to a Produce request.
type Produced struct {
	Err        string // the partition's error name, "NONE" when it was written
	BaseOffset int64
	AppendTime int64 // LogAppendTime of the batch, -1 for CreateTime topics
}

// Produce sends batch to topic/partition with acks=all. id is the topic ID
// (zero for a topic that does not exist).
func (b *Broker) Produce(ctx context.Context, t testing.TB, topic string, id [16]byte, partition int32, batch []byte) Produced {
	t.Helper()
	return b.ProduceAcks(ctx, t, topic, id, partition, -1, batch)
}

// ProduceAcks is Produce with the given acks (not 0: that gets no answer).
func (b *Broker) ProduceAcks(ctx context.Context, t testing.TB, topic string, id [16]byte, partition int32, acks int16, batch []byte) Produced {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return Produced{Err: ErrOf(err)}
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return Produced{Err: fmt.Sprintf("%d topics in the response", len(resp.Topics))}
	}
	p := resp.Topics[0].Partitions[0]
	return Produced{Err: ErrName(p.ErrorCode), BaseOffset: p.BaseOffset, AppendTime: p.LogAppendTime}
}

func (p Produced) String() string {
	if p.Err != "NONE" {
		return p.Err
	}
	return fmt.Sprintf("NONE at offset %d", p.BaseOffset)
}

// Rec is one record of a test batch.
type Rec struct {
	Key   string // "" is a null key
	Value string
	TS    int64 // CreateTime in milliseconds
}

// Producer is what an idempotent batch carries; NoProducer is a plain one.
type Producer struct {
	ID    int64
	Epoch int16
	Seq   int32
}

var NoProducer = Producer{ID: -1, Epoch: -1, Seq: -1}

// Batch encodes an uncompressed v2 record batch.
func Batch(ps Producer, recs ...Rec) []byte {
	var records []byte
	first, maxTs := recs[0].TS, recs[0].TS
	for _, r := range recs {
		first, maxTs = min(first, r.TS), max(maxTs, r.TS)
	}
	for i, r := range recs {
		kr := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: r.TS - first, Value: []byte(r.Value)}
		if r.Key != "" {
			kr.Key = []byte(r.Key)
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // everything after the 1-byte varint 0
		records = kr.AppendTo(records)
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       first,
		MaxTimestamp:         maxTs,
		ProducerID:           ps.ID,
		ProducerEpoch:        ps.Epoch,
		FirstSequence:        ps.Seq,
		NumRecords:           int32(len(recs)),
		Records:              records,
	}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))
	return Recrc(raw)
}

// Offsets of fields in a v2 record batch header.
const (
	BatchMagicAt      = 16 // int8
	BatchCRCAt        = 17 // uint32, CRC-32C of everything from BatchAttributesAt on
	BatchAttributesAt = 21 // int16: bits 0-2 codec, 4 transactional, 5 control
	BatchNumRecordsAt = 57 // int32
)

// Recrc rewrites the CRC of a v2 batch after a test changed its bytes.
func Recrc(raw []byte) []byte {
	binary.BigEndian.PutUint32(raw[BatchCRCAt:], crc32.Checksum(raw[BatchAttributesAt:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// WithAttributes returns a copy of the batch with attributes attrs and a
// matching CRC: a batch that claims a codec or a transaction it does not have.
func WithAttributes(raw []byte, attrs int16) []byte {
	out := append([]byte(nil), raw...)
	binary.BigEndian.PutUint16(out[BatchAttributesAt:], uint16(attrs))
	return Recrc(out)
}

// Values makes n records of the given size stamped now.
func Values(n, size int) []Rec {
	now := time.Now().UnixMilli()
	recs := make([]Rec, n)
	for i := range recs {
		recs[i] = Rec{Value: strings.Repeat("x", size), TS: now}
	}
	return recs
}

// ListOffset asks for the offset of partition at timestamp ts (or a special
// value: -1 latest, -2 earliest, -3 max timestamp).
func (b *Broker) ListOffset(ctx context.Context, t testing.TB, topic string, partition int32, ts int64, leaderEpoch int32) string {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, ts, leaderEpoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return ErrName(p.ErrorCode)
	}
	return fmt.Sprintf("offset %d timestamp %d", p.Offset, p.Timestamp)
}

// FetchOpts are the knobs of one Fetch request; the zero value is what
// FetchOne sends.
type FetchOpts struct {
	MaxWaitMillis     int32 // default 100; negative sends 0
	MinBytes          int32 // default 1
	MaxBytes          int32 // default 1 MiB, for the response
	PartitionMaxBytes int32 // default 1 MiB
	ReadCommitted     bool  // isolation level 1; the answer then shows the last stable offset
}

// FetchOne fetches partition from offset and returns the error, or the
// records' count and first offset with the high watermark and log start.
func (b *Broker) FetchOne(ctx context.Context, t testing.TB, topic string, id [16]byte, partition int32, offset int64) string {
	t.Helper()
	return b.Fetch(ctx, t, topic, id, partition, offset, FetchOpts{})
}

// Fetch is FetchOne with opts.
func (b *Broker) Fetch(ctx context.Context, t testing.TB, topic string, id [16]byte, partition int32, offset int64, opts FetchOpts) string {
	t.Helper()
	or := func(v, def int32) int32 {
		if v == 0 {
			return def
		}
		return v
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.SessionEpoch = -1, -1
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = max(or(opts.MaxWaitMillis, 100), 0), or(opts.MinBytes, 1), or(opts.MaxBytes, 1<<20)
	if opts.ReadCommitted {
		req.IsolationLevel = 1
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, or(opts.PartitionMaxBytes, 1<<20)
	rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if resp.ErrorCode != 0 {
		return "top level " + ErrName(resp.ErrorCode)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return ErrName(p.ErrorCode)
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: topic, Partition: partition, Offset: offset, KeepControlRecords: true}, &p, kgo.DefaultDecompressor(), nil)
	first := int64(-1)
	if len(fp.Records) > 0 {
		first = fp.Records[0].Offset
	}
	s := fmt.Sprintf("NONE, %d records from offset %d, high watermark %d, log start %d", len(fp.Records), first, p.HighWatermark, p.LogStartOffset)
	if opts.ReadCommitted {
		s += fmt.Sprintf(", last stable %d", p.LastStableOffset)
	}
	return s
}

// DeleteRecords deletes the records of topic/partition before offset (-1:
// the high watermark) and returns the error or the new low watermark.
func (b *Broker) DeleteRecords(ctx context.Context, t testing.TB, topic string, partition int32, offset int64) string {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return ErrName(p.ErrorCode)
	}
	return fmt.Sprintf("NONE, low watermark %d", p.LowWatermark)
}

// EpochEnd asks OffsetForLeaderEpoch where leader epoch epoch ends in
// topic/partition.
func (b *Broker) EpochEnd(ctx context.Context, t testing.TB, topic string, partition, epoch int32) string {
	t.Helper()
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = partition, -1, epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, b.Cl)
	if err != nil {
		return ErrOf(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("%d topics in the response", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return ErrName(p.ErrorCode)
	}
	return fmt.Sprintf("NONE, leader epoch %d ends at %d", p.LeaderEpoch, p.EndOffset)
}
