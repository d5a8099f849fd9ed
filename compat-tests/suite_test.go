package compat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/skiffstream/skiff/compat-tests/harness"
)

// codecClient is one Kafka client library as the codec suite drives it.
type codecClient struct {
	name   string   // used in topic names
	codecs []string // names from codecIDs
	// produce writes recs to topic with codec and acks=all, and returns them
	// in the same order with the partition and offset each was acknowledged at.
	produce func(ctx context.Context, t *testing.T, addr, topic, codec string, recs []record) ([]record, error)
	// consume reads every partition of topic from offset 0 until the end
	// offset in ends, and returns the records in the order they arrived.
	consume func(ctx context.Context, t *testing.T, addr, topic string, ends map[int32]int64) ([]record, error)
}

const (
	suitePartitions = 3
	suiteRecords    = 60 // per codec
)

// runCodecSuite produces and consumes a topic per codec with one client, then
// restarts the broker and consumes every topic again.
func runCodecSuite(t *testing.T, s *harness.Server, c codecClient) {
	acked := make(map[string][]record) // by topic
	for _, codec := range c.codecs {
		topic := fmt.Sprintf("compat-%s-%s", c.name, codec)
		t.Run(codec, func(t *testing.T) {
			ctx := testContext(t)
			harness.CreateTopic(t, s.Addr(), topic, suitePartitions)
			sent := makeRecords(codec, suiteRecords)
			got, err := c.produce(ctx, t, s.Addr(), topic, codec, sent)
			if err != nil {
				t.Fatalf("%s produce %s: %v", c.name, codec, err)
			}
			checkProduced(t, sent, got, suitePartitions)
			acked[topic] = got
			ends := countsByPartition(got)
			checkOffsets(ctx, t, s.Addr(), topic, suitePartitions, ends)
			checkBatches(ctx, t, s.Addr(), topic, ends, codec)
			consumeAndCheck(ctx, t, s.Addr(), topic, c, got)
		})
	}
	t.Run("after-restart", func(t *testing.T) {
		if !s.Persistent() {
			t.Skipf("the %s target does not keep data across restarts", s.Target())
		}
		if len(acked) == 0 {
			t.Skip("no codec produced")
		}
		s.Restart(t)
		for _, codec := range c.codecs {
			topic := fmt.Sprintf("compat-%s-%s", c.name, codec)
			got, ok := acked[topic]
			if !ok {
				continue // that codec failed already
			}
			t.Run(codec, func(t *testing.T) {
				ctx := testContext(t)
				checkOffsets(ctx, t, s.Addr(), topic, suitePartitions, countsByPartition(got))
				consumeAndCheck(ctx, t, s.Addr(), topic, c, got)
			})
		}
	})
}

func consumeAndCheck(ctx context.Context, t *testing.T, addr, topic string, c codecClient, acked []record) {
	t.Helper()
	got, err := c.consume(ctx, t, addr, topic, countsByPartition(acked))
	if err != nil {
		t.Fatalf("%s consume %s: %v", c.name, topic, err)
	}
	checkConsumed(t, acked, got)
}

// runBounded runs fn, which cannot be cancelled, and gives up when ctx ends.
func runBounded(ctx context.Context, what string, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}
