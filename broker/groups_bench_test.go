package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkGroupJoin50 measures the time until every member of a 50-member
// franz-go group (cooperative-sticky, the kgo default) on a 100-partition
// topic has its assignment, with the default 300 ms initial rebalance delay.
func BenchmarkGroupJoin50(b *testing.B) {
	tb := startTestBroker(b, "")
	admin := newClient(b, tb.addr())
	createTopic(b, admin, "join50", 100)
	const members = 50
	b.ResetTimer()
	for i := range b.N {
		group := fmt.Sprintf("join50-%d", i)
		var assigned atomic.Int64
		var owned sync.Map // member index → partitions
		start := time.Now()
		clients := make([]*kgo.Client, members)
		for m := range clients {
			cl, err := kgo.NewClient(kgo.SeedBrokers(tb.addr()), kgo.ConsumerGroup(group), kgo.ConsumeTopics("join50"),
				kgo.WithLogger(kgo.BasicLogger(io.Discard, kgo.LogLevelNone, nil)),
				kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
					owned.Store(m, len(a["join50"]))
					assigned.Add(int64(len(a["join50"])))
				}))
			if err != nil {
				b.Fatal(err)
			}
			clients[m] = cl
			go cl.PollFetches(context.Background())
		}
		for assigned.Load() < 100 {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-assign")
		b.StopTimer()
		for _, cl := range clients {
			cl.Close()
		}
		b.StartTimer()
	}
}

// BenchmarkGroupOffsetCommit measures OffsetCommit requests per second
// through the broker (one partition each, answered after the Raft commit),
// from 1 and from 64 clients committing at once.
func BenchmarkGroupOffsetCommit(b *testing.B) {
	for _, committers := range []int{1, 64} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			tb := startTestBroker(b, "", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
			admin := newClient(b, tb.addr())
			createTopic(b, admin, "commits", 100)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range committers {
				cl := newClient(b, tb.addr())
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						req := kmsg.NewPtrOffsetCommitRequest()
						req.Group, req.Generation = fmt.Sprintf("committer-%d", w), -1
						req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "commits", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: int32(i % 100), Offset: i, LeaderEpoch: -1}}}}
						resp, err := req.RequestWith(context.Background(), cl)
						if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
							b.Errorf("commit: %v %+v", err, resp)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}
