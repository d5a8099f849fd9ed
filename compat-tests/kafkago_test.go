package compat_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/skiffstream/skiff/compat-tests/harness"
)

// TestCompatKafkaGo runs the codec suite with segmentio/kafka-go: its Writer
// (with the Java-compatible murmur2 balancer, since the default round-robin
// ignores keys) and a partition Reader.
func TestCompatKafkaGo(t *testing.T) {
	s := harness.Start(t)
	runCodecSuite(t, s, codecClient{
		name:    "kafkago",
		codecs:  []string{"none", "gzip", "snappy", "lz4", "zstd"},
		produce: kafkagoProduce,
		consume: kafkagoConsume,
	})
}

var kafkagoCodecs = map[string]kafka.Compression{
	"none":   0,
	"gzip":   kafka.Gzip,
	"snappy": kafka.Snappy,
	"lz4":    kafka.Lz4,
	"zstd":   kafka.Zstd,
}

func kafkagoProduce(ctx context.Context, t *testing.T, addr, topic, codec string, recs []record) ([]record, error) {
	index := indexByValue(recs)
	acked := make([]record, len(recs))
	var mu sync.Mutex
	// A transport of its own: kafka-go's shared DefaultTransport caches
	// metadata for 6s and fails writes to topics created since.
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Transport:    transport,
		Topic:        topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		Compression:  kafkagoCodecs[codec],
		BatchTimeout: 10 * time.Millisecond,
		// Completion is where kafka-go reports the offsets it was given.
		Completion: func(msgs []kafka.Message, err error) {
			if err != nil {
				return // WriteMessages returns it
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				i := index[string(m.Value)]
				acked[i] = recs[i]
				acked[i].Partition, acked[i].Offset = int32(m.Partition), m.Offset
			}
		},
	}
	defer w.Close()
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Key: []byte(r.Key), Value: []byte(r.Value)}
		for _, h := range r.Headers {
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) {
			return nil, fmt.Errorf("%d of %d messages failed, first: %w", werrs.Count(), len(msgs), firstErr(werrs))
		}
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, nil
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func kafkagoConsume(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) ([]record, error) {
	var got []record
	for p, end := range ends {
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:   []string{addr},
			Topic:     topic,
			Partition: int(p),
			MinBytes:  1,
			MaxBytes:  8 << 20,
			MaxWait:   250 * time.Millisecond,
		})
		recs, err := kafkagoReadPartition(ctx, r, end)
		got = append(got, recs...)
		if cerr := r.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close reader: %w", cerr)
		}
		if err != nil {
			return got, fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return got, nil
}

func kafkagoReadPartition(ctx context.Context, r *kafka.Reader, end int64) ([]record, error) {
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return nil, fmt.Errorf("set offset: %w", err)
	}
	var got []record
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return got, fmt.Errorf("read after %d records: %w", len(got), err)
		}
		rec := record{Key: string(m.Key), Value: string(m.Value), Partition: int32(m.Partition), Offset: m.Offset}
		for _, h := range m.Headers {
			rec.Headers = append(rec.Headers, header{h.Key, string(h.Value)})
		}
		got = append(got, rec)
		if m.Offset >= end-1 {
			return got, nil
		}
	}
}
