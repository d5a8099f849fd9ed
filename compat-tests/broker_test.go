package compat_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// These helpers look at the broker with franz-go, independent of the client
// under test.

const testTimeout = 60 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func newKgoClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("franz-go client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// checkOffsets checks that every partition of topic starts at 0 and ends
// where want says (a partition missing from want must be empty).
func checkOffsets(ctx context.Context, t *testing.T, addr, topic string, partitions int32, want map[int32]int64) {
	t.Helper()
	adm := kadm.NewClient(newKgoClient(t, addr))
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		t.Fatalf("ListOffsets (earliest) %s: %v", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("ListOffsets (latest) %s: %v", topic, err)
	}
	for p := range partitions {
		s, ok := starts.Lookup(topic, p)
		if !ok || s.Offset != 0 {
			t.Errorf("%s-%d: start offset %d (listed: %v), want 0", topic, p, s.Offset, ok)
		}
		e, ok := ends.Lookup(topic, p)
		if !ok || e.Offset != want[p] {
			t.Errorf("%s-%d: end offset %d (listed: %v), want %d", topic, p, e.Offset, ok, want[p])
		}
	}
}

// Compression codec numbers in the attributes of a record batch.
var codecIDs = map[string]int16{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

// checkBatches fetches topic raw and checks each record batch: magic 2, a
// correct CRC-32C, and the compression codec the producer was set to (Kafka's
// default compression.type=producer keeps the producer's codec).
func checkBatches(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64, codec string) {
	t.Helper()
	cl := newKgoClient(t, addr)
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatalf("metadata %s: %v", topic, err)
	}
	topicID := md.Topics[topic].ID
	for p, end := range ends {
		for offset := int64(0); offset < end; {
			batches, err := fetchRaw(ctx, cl, topic, topicID, p, offset)
			if err != nil {
				t.Fatalf("fetch %s-%d at %d: %v", topic, p, offset, err)
			}
			for _, b := range batches {
				if got := b.Attributes & 0x7; got != codecIDs[codec] {
					hint := ""
					if got == 0 {
						hint = "; the producer sent it uncompressed, maybe because the broker's ApiVersions lacks an API the client ties the codec to"
					}
					t.Errorf("%s-%d: batch at offset %d has codec %d, want %d (%s)%s", topic, p, b.FirstOffset, got, codecIDs[codec], codec, hint)
				}
				offset = b.FirstOffset + int64(b.LastOffsetDelta) + 1
			}
		}
	}
}

// fetchRaw fetches one partition from offset and returns the whole batches
// in the response, checking magic and CRC.
func fetchRaw(ctx context.Context, cl *kgo.Client, topic string, topicID [16]byte, partition int32, offset int64) ([]kmsg.RecordBatch, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 500
	req.MinBytes = 1
	req.MaxBytes = 8 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 8 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, fmt.Errorf("response has %d topics, want 1 with 1 partition", len(resp.Topics))
	}
	rp0 := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(rp0.ErrorCode); err != nil {
		return nil, err
	}
	var batches []kmsg.RecordBatch
	for raw := rp0.RecordBatches; len(raw) >= 17; {
		size := 12 + int(int32(binary.BigEndian.Uint32(raw[8:12])))
		if size > len(raw) {
			break // a partial batch at the end of the response is allowed
		}
		if magic := raw[16]; magic != 2 {
			return nil, fmt.Errorf("batch with magic %d, want 2", magic)
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(raw[:size]); err != nil {
			return nil, fmt.Errorf("decode batch: %w", err)
		}
		if crc := crc32.Checksum(raw[21:size], crc32.MakeTable(crc32.Castagnoli)); int32(crc) != b.CRC {
			return nil, fmt.Errorf("batch at offset %d: CRC %08x, computed %08x", b.FirstOffset, uint32(b.CRC), crc)
		}
		batches = append(batches, b)
		raw = raw[size:]
	}
	return batches, nil
}
