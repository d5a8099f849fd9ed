package harness

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const topicTimeout = 30 * time.Second

// CreateTopic creates topic with the given number of partitions (replication
// factor 1) through kadm, then waits until Metadata shows every partition with
// a leader, so a client that starts right after sees the whole topic.
// Retriable errors (a broker still electing its controller) are retried.
func CreateTopic(t testing.TB, addr, topic string, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), topicTimeout)
	defer cancel()
	// kgo caches metadata for MetadataMinAge (5s by default); polling needs
	// every answer fresh.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatalf("harness: CreateTopic %s: %v", topic, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := createTopic(ctx, adm, topic, partitions); err != nil {
		t.Fatalf("harness: CreateTopic %s (%d partitions) on %s: %v", topic, partitions, addr, err)
	}
	if err := waitTopic(ctx, adm, topic, partitions); err != nil {
		t.Fatalf("harness: CreateTopic %s (%d partitions) on %s: %v", topic, partitions, addr, err)
	}
}

func createTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int) error {
	for attempt := 0; ; attempt++ {
		resp, err := adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			return nil
		case attempt > 0 && errors.Is(err, kerr.TopicAlreadyExists):
			return nil // an earlier attempt got through but its answer did not
		case !kerr.IsRetriable(err):
			return err
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("still failing when time ran out: %w", err)
		}
	}
}

// waitTopic polls Metadata until topic has partitions partitions, each with
// a leader and no error.
func waitTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int) error {
	var last error
	for {
		last = topicReady(ctx, adm, topic, partitions)
		if last == nil {
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("created, but metadata not ready in time: %w", last)
		}
	}
}

func topicReady(ctx context.Context, adm *kadm.Client, topic string, partitions int) error {
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return err
	}
	td, ok := md.Topics[topic]
	switch {
	case !ok:
		return errors.New("topic missing from metadata")
	case td.Err != nil:
		return td.Err
	case len(td.Partitions) != partitions:
		return fmt.Errorf("metadata shows %d partitions", len(td.Partitions))
	}
	for _, p := range td.Partitions {
		if p.Err != nil {
			return fmt.Errorf("partition %d: %w", p.Partition, p.Err)
		}
		if p.Leader < 0 {
			return fmt.Errorf("partition %d has no leader", p.Partition)
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
