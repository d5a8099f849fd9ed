package compat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/skiffstream/skiff/compat-tests/harness"
)

// TestCompatConfluent runs the codec suite with confluent-kafka-go, that is
// librdkafka (bundled, linked with cgo), the C client under most non-Java
// Kafka bindings (Python, .NET, Node's rdkafka, kcat).
func TestCompatConfluent(t *testing.T) {
	s := harness.Start(t)
	runCodecSuite(t, s, codecClient{
		name:    "confluent",
		codecs:  []string{"none", "gzip", "snappy", "lz4", "zstd"},
		produce: confluentProduce,
		consume: confluentConsume,
	})
}

func confluentProduce(ctx context.Context, t *testing.T, addr, topic, codec string, recs []record) ([]record, error) {
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":      addr,
		"client.id":              "skiff-compat",
		"acks":                   "all",
		"compression.type":       codec,
		"linger.ms":              5,
		"message.timeout.ms":     int(testTimeout / time.Millisecond),
		"log.connection.close":   false,
		"go.logs.channel.enable": false,
	})
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	defer p.Close()

	index := indexByValue(recs)
	reports := make(chan kafka.Event, len(recs))
	for _, r := range recs {
		m := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(r.Key),
			Value:          []byte(r.Value),
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
		}
		if err := p.Produce(m, reports); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
	}
	acked := make([]record, len(recs))
	var errs []error
	for range recs {
		select {
		case ev := <-reports:
			m, ok := ev.(*kafka.Message)
			if !ok {
				return nil, fmt.Errorf("unexpected delivery event %v", ev)
			}
			if m.TopicPartition.Error != nil {
				errs = append(errs, m.TopicPartition.Error)
				continue
			}
			i := index[string(m.Value)]
			acked[i] = recs[i]
			acked[i].Partition, acked[i].Offset = m.TopicPartition.Partition, int64(m.TopicPartition.Offset)
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for delivery reports: %w", ctx.Err())
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d of %d messages failed, first: %w", len(errs), len(recs), errs[0])
	}
	return acked, nil
}

func confluentConsume(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) ([]record, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":    addr,
		"client.id":            "skiff-compat",
		"group.id":             "skiff-compat-" + topic, // required, unused: partitions are assigned, not subscribed
		"enable.auto.commit":   false,
		"auto.offset.reset":    "error",
		"log.connection.close": false,
	})
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	defer c.Close()

	var tps []kafka.TopicPartition
	remaining := make(map[int32]bool)
	for p, end := range ends {
		if end > 0 {
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.OffsetBeginning})
			remaining[p] = true
		}
	}
	if err := c.Assign(tps); err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	var got []record
	for len(remaining) > 0 {
		if err := ctx.Err(); err != nil {
			return got, fmt.Errorf("partitions %v unfinished: %w", remaining, err)
		}
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			var kerr kafka.Error
			if errors.As(err, &kerr) && kerr.Code() == kafka.ErrTimedOut {
				continue
			}
			return got, fmt.Errorf("read after %d records: %w", len(got), err)
		}
		r := record{Key: string(m.Key), Value: string(m.Value), Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset)}
		for _, h := range m.Headers {
			r.Headers = append(r.Headers, header{h.Key, string(h.Value)})
		}
		got = append(got, r)
		if r.Offset >= ends[r.Partition]-1 {
			delete(remaining, r.Partition)
		}
	}
	return got, nil
}
