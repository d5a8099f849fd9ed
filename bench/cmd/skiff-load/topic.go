package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recreateTopic deletes cfg.topic if it exists, creates it with
// cfg.partitions partitions and replication factor 1, and waits until every
// partition has a leader, so that the produce phase measures producing only.
func recreateTopic(ctx context.Context, cfg config) error {
	// kgo answers metadata requests from a cache younger than MetadataMinAge
	// (5 s by default), which would hide the delete and the create from the
	// polls below for that long.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	if err := deleteTopic(ctx, adm, cfg); err != nil {
		return err
	}

	if err := waitFor(ctx, func() (bool, error) {
		resp, err := adm.CreateTopic(ctx, int32(cfg.partitions), 1, nil, cfg.topic)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, kerr.TopicAlreadyExists): // a delete still finishing
			return false, nil
		default:
			return false, fmt.Errorf("create topic %s: %w", cfg.topic, err)
		}
	}); err != nil {
		return err
	}

	return waitFor(ctx, func() (bool, error) {
		ts, err := adm.ListTopics(ctx)
		if err != nil || !ts.Has(cfg.topic) {
			return false, nil
		}
		t := ts[cfg.topic]
		if t.Err != nil || len(t.Partitions) != cfg.partitions {
			return false, nil
		}
		for _, p := range t.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false, nil
			}
		}
		return true, nil
	})
}

// deleteTopic deletes cfg.topic if it exists and waits until it is no longer listed.
func deleteTopic(ctx context.Context, adm *kadm.Client, cfg config) error {
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics at %v: %w (is a broker running there?)", cfg.brokers, err)
	}
	if !topics.Has(cfg.topic) {
		return nil
	}
	if _, err := adm.DeleteTopic(ctx, cfg.topic); err != nil {
		return fmt.Errorf("delete topic %s: %w", cfg.topic, err)
	}
	if err := waitFor(ctx, func() (bool, error) {
		ts, err := adm.ListTopics(ctx)
		return err == nil && !ts.Has(cfg.topic), nil
	}); err != nil {
		return fmt.Errorf("topic %s still listed after delete: %w", cfg.topic, err)
	}
	return nil
}

// adminOnly is --admin: recreate or delete the topic, nothing else.
func adminOnly(ctx context.Context, cfg config) error {
	if cfg.admin == "create" {
		return recreateTopic(ctx, cfg)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	return deleteTopic(ctx, kadm.NewClient(cl), cfg)
}

// waitFor calls fn every 50 ms until it reports done, fails, or ten seconds pass.
func waitFor(ctx context.Context, fn func() (bool, error)) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		done, err := fn()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("timed out after 10s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
