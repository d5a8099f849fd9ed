package compat_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/skiffstream/skiff/compat-tests/harness"
)

// TestCompatSarama runs the codec suite with IBM/sarama. Sarama does not
// negotiate API versions: it picks them from Config.Version, here its default
// V2_1_0_0 (the oldest that allows zstd), so Skiff is driven with the older
// versions of Produce, Fetch and Metadata that many deployed apps still use.
func TestCompatSarama(t *testing.T) {
	s := harness.Start(t)
	runCodecSuite(t, s, codecClient{
		name:    "sarama",
		codecs:  []string{"none", "gzip", "snappy", "lz4", "zstd"},
		produce: saramaProduce,
		consume: saramaConsume,
	})
}

var saramaCodecs = map[string]sarama.CompressionCodec{
	"none":   sarama.CompressionNone,
	"gzip":   sarama.CompressionGZIP,
	"snappy": sarama.CompressionSnappy,
	"lz4":    sarama.CompressionLZ4,
	"zstd":   sarama.CompressionZSTD,
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "skiff-compat"
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1 // keep order if a request is retried
	cfg.Consumer.Return.Errors = true
	return cfg
}

func saramaProduce(ctx context.Context, t *testing.T, addr, topic, codec string, recs []record) ([]record, error) {
	cfg := saramaConfig()
	cfg.Producer.Compression = saramaCodecs[codec]
	producer, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	defer producer.Close()

	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)}
		for _, h := range r.Headers {
			msgs[i].Headers = append(msgs[i].Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
		}
	}
	if err := runBounded(ctx, "SendMessages", func() error { return producer.SendMessages(msgs) }); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			return nil, fmt.Errorf("%d of %d messages failed, first: %w", len(perrs), len(msgs), perrs[0].Err)
		}
		return nil, err
	}
	acked := make([]record, len(recs))
	for i, m := range msgs {
		acked[i] = recs[i]
		acked[i].Partition, acked[i].Offset = m.Partition, m.Offset
	}
	return acked, nil
}

func saramaConsume(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) ([]record, error) {
	consumer, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	defer consumer.Close()
	// Open every partition first so their fetches overlap, and close them
	// together: each Close waits out a fetch (MaxWaitTime, 500ms).
	pcs := make(map[int32]sarama.PartitionConsumer)
	defer func() {
		var wg sync.WaitGroup
		for _, pc := range pcs {
			wg.Go(func() { pc.Close() })
		}
		wg.Wait()
	}()
	for p, end := range ends {
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("consume partition %d: %w", p, err)
		}
		pcs[p] = pc
	}
	var got []record
	for p, pc := range pcs {
		for done := false; !done; {
			select {
			case m := <-pc.Messages():
				r := record{Key: string(m.Key), Value: string(m.Value), Partition: m.Partition, Offset: m.Offset}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, header{string(h.Key), string(h.Value)})
				}
				got = append(got, r)
				done = m.Offset >= ends[p]-1
			case err := <-pc.Errors():
				return got, fmt.Errorf("partition %d: %w", p, err)
			case <-ctx.Done():
				return got, fmt.Errorf("partition %d: %w", p, ctx.Err())
			}
		}
	}
	return got, nil
}
