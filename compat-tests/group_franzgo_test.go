package compat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompatGroupFranzGo runs the consumer group scenario (group_test.go) with franz-go
// group consumers: its default cooperative-sticky balancer, commits of each polled
// batch with rebalances blocked while a batch is processed, and a member killed by
// closing its connections.
func TestCompatGroupFranzGo(t *testing.T) {
	runGroupScenario(t, groupClient{
		name:        "franzgo",
		assignor:    "cooperative-sticky",
		cooperative: true,
		start:       startFranzGoMember,
	})
}

func startFranzGoMember(g *groupRun, id string) (groupMember, error) {
	n := &killableNet{}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(g.s.Addr()),
		kgo.Dialer(n.DialContext),
		kgo.ClientID(g.clientID(id)),
		kgo.ConsumerGroup(g.group),
		kgo.ConsumeTopics(g.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(groupSessionTimeout),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RebalanceTimeout(20*time.Second),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { g.log.assigned(id, a[g.topic]) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { g.log.revoked(id, r[g.topic]) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { g.log.lost(id, l[g.topic]) }),
	)
	if err != nil {
		return nil, err
	}
	loop := func(ctx context.Context, m *inprocMember) {
		for ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			fs := cl.PollFetches(pctx)
			cancel()
			if fs.IsClientClosed() {
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					g.log.note(id, fmt.Sprintf("fetch %s-%d: %v", topic, p, err))
				}
			})
			recs := fs.Records()
			for _, r := range recs {
				g.log.read(id, r.Partition, r.Offset, string(r.Value))
			}
			if len(recs) > 0 && !m.held.Load() {
				cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := cl.CommitRecords(cctx, recs...)
				cancel()
				if err != nil {
					g.log.note(id, fmt.Sprintf("commit: %v", err))
				} else {
					g.log.commit(id, nextOffsets(recs, func(r *kgo.Record) (int32, int64) { return r.Partition, r.Offset }))
				}
			}
			cl.AllowRebalance()
		}
	}
	leave := func() error {
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.LeaveGroupContext(ctx)
	}
	return startInproc(g, id, n, loop, leave), nil
}
