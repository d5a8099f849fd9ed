package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consume reads every partition of cfg.topic from offset 0 by direct
// partition assignment until it has cfg.records records. Each partition's
// offsets must be dense from 0 and every value cfg.recordSize bytes long.
func consume(ctx context.Context, cfg config) (phaseResult, error) {
	parts := make(map[int32]kgo.Offset, cfg.partitions)
	for p := range cfg.partitions {
		parts[int32(p)] = kgo.NewOffset().AtStart()
	}
	var got atomic.Int64
	sampler := startRateSampler(&got)
	start, startCPU := time.Now(), markCPU(cfg.brokerPID)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.topic: parts}),
	)
	if err != nil {
		return phaseResult{}, fmt.Errorf("consumer client: %w", err)
	}
	defer cl.Close()

	next := make([]int64, cfg.partitions) // next expected offset per partition
	var bad error
	for got.Load() < int64(cfg.records) && bad == nil {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return phaseResult{}, fmt.Errorf("consume: %d of %d records after %s: %w",
				got.Load(), cfg.records, time.Since(start).Round(time.Millisecond), err)
		}
		for _, fe := range fetches.Errors() {
			return phaseResult{}, fmt.Errorf("consume %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
		}
		var n int64
		fetches.EachRecord(func(r *kgo.Record) {
			switch {
			case bad != nil:
			case int(r.Partition) >= cfg.partitions:
				bad = fmt.Errorf("record from partition %d, topic has %d", r.Partition, cfg.partitions)
			case r.Offset != next[r.Partition]:
				bad = fmt.Errorf("%s[%d]: offset %d, want %d (a gap or a duplicate)", r.Topic, r.Partition, r.Offset, next[r.Partition])
			case len(r.Value) != cfg.recordSize:
				bad = fmt.Errorf("%s[%d]@%d: value of %d bytes, want %d", r.Topic, r.Partition, r.Offset, len(r.Value), cfg.recordSize)
			default:
				next[r.Partition]++
				n++
			}
		})
		got.Add(n)
	}
	elapsed, cpu := time.Since(start), markCPU(cfg.brokerPID).Since(startCPU)
	perSecond := sampler.stop()
	if bad != nil {
		return phaseResult{}, fmt.Errorf("consume: %w", bad)
	}
	if err := checkEndOffsets(ctx, cfg, 0); err != nil {
		return phaseResult{}, err
	}
	res := phaseFrom(cfg, elapsed, perSecond)
	res.CPU = cpu
	return res, nil
}

// checkEndOffsets checks that the partitions start at 0 and hold exactly
// cfg.records records between them: none lost, none stored twice. If there
// are fewer, it looks again for up to settle before failing.
func checkEndOffsets(ctx context.Context, cfg config, settle time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(settle)
	for {
		total, err := countRecords(ctx, adm, cfg.topic)
		switch {
		case err != nil:
			return err
		case total == int64(cfg.records):
			return nil
		case total > int64(cfg.records) || time.Now().After(deadline):
			return fmt.Errorf("partitions of %s hold %d records, %d were produced", cfg.topic, total, cfg.records)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countRecords sums the end offsets of topic's partitions, failing if any
// partition does not start at offset 0.
func countRecords(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	var total int64
	var errs []error
	starts.Each(func(o kadm.ListedOffset) {
		if o.Offset != 0 {
			errs = append(errs, fmt.Errorf("%s[%d] starts at offset %d, want 0", o.Topic, o.Partition, o.Offset))
		}
	})
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	return total, errors.Join(errs...)
}
