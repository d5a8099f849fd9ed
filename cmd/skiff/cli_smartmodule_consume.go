package main

// `skiff consume TOPIC --smartmodule NAME [--params k=v]...` and
// `--transforms-file F`: the chain runs on the broker, over a read-time
// view of TOPIC made for this command (`_skiff_view.<random>`, CreateTopics
// with skiff.view.of and skiff.view.transforms) and deleted when the
// command ends, on Ctrl-C and errors too. Any Kafka client could read the
// view; the consume code reads it like any topic.
//
// A view keeps its source's offsets, and a filter leaves gaps, so with -d
// the last offset before the end may never come as a record. The kgo
// consumer does not say where a partition got to, so -d over a view is
// read with Fetch requests of our own (consumeFetchToEnd), whose answers
// do.
//
// # Notes
//
//   - A consume killed with SIGKILL leaves its view behind; `skiff topic
//     list` shows it and `skiff topic delete` removes it (it stores
//     nothing).

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"gopkg.in/yaml.v3"

	"github.com/skiffstream/skiff/transforms/chain"
)

// viewPrefix starts the names of the views `skiff consume` makes.
const viewPrefix = "_skiff_view."

// consumeSmartModule is what --smartmodule, --params and --transforms-file
// ask for.
type consumeSmartModule struct {
	module string
	params keyValueFlags
	file   string
}

// spec returns the view's transforms.yml.
func (sm consumeSmartModule) spec() (string, error) {
	if sm.file != "" {
		yml, err := os.ReadFile(sm.file)
		if err != nil {
			return "", err
		}
		if _, err := chain.ParseSpec(yml); err != nil {
			return "", fmt.Errorf("%s: %w", sm.file, err)
		}
		return string(yml), nil
	}
	return singleStepYAML(sm.module, sm.params)
}

// singleStepYAML is the transforms.yml of chain.SingleStep(module, params).
func singleStepYAML(module string, params map[string]string) (string, error) {
	type step struct {
		Uses string            `yaml:"uses"`
		With map[string]string `yaml:"with,omitempty"`
	}
	yml, err := yaml.Marshal(struct {
		Transforms []step `yaml:"transforms"`
	}{[]step{{module, params}}})
	return string(yml), err
}

// consumeThroughView makes the view, consumes it and deletes it.
func consumeThroughView(ctx context.Context, brokers string, o consumeOptions, sm consumeSmartModule, stdout, stderr io.Writer) int {
	spec, err := sm.spec()
	if err != nil {
		return fail(stderr, "consume", err, o.topic, "")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	view := viewPrefix + hex.EncodeToString(rnd[:])

	cctx, cancel := context.WithTimeout(ctx, adminSlowTimeout)
	defer cancel()
	adm, err := connectAdmin(cctx, brokers)
	if err != nil {
		return fail(stderr, "consume", err, o.topic, "")
	}
	defer adm.Close()
	resp, err := adm.CreateTopic(cctx, -1, -1, map[string]*string{cfgViewOf: &o.topic, cfgViewTransforms: &spec}, view)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		if errors.Is(err, kerr.InvalidConfig) && resp.ErrMessage != "" {
			// The broker checked the chain: a module that does not exist
			// or that a view cannot run, or a source that does not.
			fmt.Fprintf(stderr, "skiff consume: %s\n", resp.ErrMessage)
			return 1
		}
		return fail(stderr, "consume", err, o.topic, resp.ErrMessage)
	}
	defer func() {
		// ctx may be cancelled (Ctrl-C): the view goes in any case.
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.DeleteTopic(dctx, view); err != nil {
			fmt.Fprintf(stderr, "skiff consume: warning: the temporary view %s was not deleted (%v): delete it with `skiff topic delete %s`\n", view, err, view)
		}
	}()
	o.displayTopic, o.topic = o.topic, view
	return consume(ctx, brokers, o, stdout, stderr)
}

// isView reports whether topic is a read-time view. A broker that cannot
// say (not Skiff) has none.
func isView(ctx context.Context, adm *kadm.Client, topic string) bool {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return false
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		return false
	}
	for _, c := range rc.Configs {
		if c.Key == cfgViewOf && c.MaybeValue() != "" {
			return true
		}
	}
	return false
}

// consumeFetchToEnd is consume with -d over a view: it sends Fetch requests
// to each partition's leader from plan.from until the offset after the
// records returned reaches plan.ends, printing what it gets.
func consumeFetchToEnd(ctx context.Context, brokers string, o consumeOptions, plan consumePlan, stdout, stderr io.Writer) int {
	cl, err := kgo.NewClient(seedOpts(brokers)...)
	if err != nil {
		return fail(stderr, "consume", err, o.topic, "")
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	shown := o.topic
	if o.displayTopic != "" {
		shown = o.displayTopic
	}
	pos := make(map[int32]int64, len(plan.from))
	for p, off := range plan.from {
		pos[p] = off
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	printed := 0
	for len(plan.ends) > 0 {
		topics, err := adm.ListTopics(ctx, o.topic)
		if err == nil {
			err = topics.Error()
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			return fail(stderr, "consume", err, shown, "")
		}
		td := topics[o.topic]
		byLeader := map[int32][]int32{}
		for p := range plan.ends {
			if pd, ok := td.Partitions[p]; ok && pd.Leader >= 0 {
				byLeader[pd.Leader] = append(byLeader[pd.Leader], p)
			}
		}
		retry := len(byLeader) == 0 // no leader known yet
		for leader, parts := range byLeader {
			req := fetchRequest(o.topic, td.ID, parts, pos)
			kresp, err := cl.Broker(int(leader)).Request(ctx, req)
			if err != nil {
				if ctx.Err() != nil {
					return 0
				}
				return fail(stderr, "consume", err, shown, "")
			}
			resp := kresp.(*kmsg.FetchResponse)
			if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
				return fail(stderr, "consume", err, shown, "")
			}
			for _, rt := range resp.Topics {
				for i := range rt.Partitions {
					rp := &rt.Partitions[i]
					end, open := plan.ends[rp.Partition]
					if !open {
						continue
					}
					fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Offset: pos[rp.Partition], Topic: shown, Partition: rp.Partition},
						rp, kgo.DefaultDecompressor(), nil)
					switch {
					case errors.Is(fp.Err, kerr.OffsetOutOfRange):
						fmt.Fprintf(stderr, "skiff consume: warning: partition %d: records from offset %d are gone; going on from %d\n", rp.Partition, pos[rp.Partition], fp.LogStartOffset)
						next = fp.LogStartOffset
					case fp.Err != nil && kerr.IsRetriable(fp.Err):
						retry = true // leadership moves: the next round asks again
						continue
					case fp.Err != nil:
						out.Flush()
						return fail(stderr, "consume", fmt.Errorf("partition %d: %w", rp.Partition, viewFailure(true, fp.Err)), shown, "")
					}
					for _, r := range fp.Records {
						if r.Offset >= end {
							break
						}
						writeRecord(out, o.format, r)
						printed++
						if o.max > 0 && printed >= o.max {
							return flushConsume(out, stderr, shown)
						}
					}
					pos[rp.Partition] = next
					if next >= end {
						delete(plan.ends, rp.Partition)
					}
				}
			}
			if code := flushConsume(out, stderr, shown); code != 0 {
				return code
			}
		}
		if retry && !sleepCtx(ctx, 200*time.Millisecond) || ctx.Err() != nil {
			return 0
		}
	}
	return 0
}

// viewFailure explains the error a view's Fetch answers when its chain
// fails: Kafka's Fetch has no room for the reason.
func viewFailure(view bool, err error) error {
	if !view || !errors.Is(err, kerr.UnknownServerError) {
		return err
	}
	return fmt.Errorf("the view's SmartModules failed on a record; the broker's log says which and why, and `skiff smartmodule test` runs a module on given records [%w]", err)
}

// fetchRequest asks for parts of topic from their positions, without a
// fetch session, waiting up to half a second for records.
func fetchRequest(topic string, id kadm.TopicID, parts []int32, pos map[int32]int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 500
	req.MinBytes = 1
	req.MaxBytes = 50 << 20
	req.SessionID, req.SessionEpoch = 0, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for _, p := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset = p, pos[p]
		rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// flushConsume flushes the output; a write error is exit code 1.
func flushConsume(out *bufio.Writer, stderr io.Writer, topic string) int {
	if err := out.Flush(); err != nil {
		return fail(stderr, "consume", fmt.Errorf("write output: %w", err), topic, "")
	}
	return 0
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
