package compat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestCompatGroupKafkaGo runs the consumer group scenario (group_test.go) with a
// segmentio/kafka-go Reader in a consumer group: the range balancer, FetchMessage with
// synchronous CommitMessages every 100 records or when no more are buffered, and a
// member killed by closing its connections (kafka-go dials through Dialer.DialFunc).
// Records are produced only while the group is stable (see quietRebalances).
func TestCompatGroupKafkaGo(t *testing.T) {
	runGroupScenario(t, groupClient{
		name:     "kafkago",
		assignor: "range",
		// The Reader keeps handing out messages fetched before a rebalance, and
		// commits them in the new generation, which started again at the offset
		// committed when it began: records produced during a rebalance come twice.
		quietRebalances: true,
		start:           startKafkaGoMember,
	})
}

func startKafkaGoMember(g *groupRun, id string) (groupMember, error) {
	n := &killableNet{}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{g.s.Addr()},
		GroupID:           g.group,
		Topic:             g.topic,
		Dialer:            &kafka.Dialer{ClientID: g.clientID(id), DialFunc: n.DialContext, Timeout: 10 * time.Second},
		GroupBalancers:    []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		SessionTimeout:    groupSessionTimeout,
		HeartbeatInterval: 500 * time.Millisecond,
		RebalanceTimeout:  20 * time.Second,
		JoinGroupBackoff:  200 * time.Millisecond,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    200 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		MaxWait:           200 * time.Millisecond,
		CommitInterval:    0, // CommitMessages commits synchronously
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			g.log.note(id, fmt.Sprintf(format, args...))
		}),
	})
	commit := func(m *inprocMember, pending []kafka.Message) {
		if len(pending) == 0 || m.held.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.CommitMessages(ctx, pending...); err != nil {
			g.log.note(id, fmt.Sprintf("commit: %v", err))
			return
		}
		g.log.commit(id, nextOffsets(pending, func(m kafka.Message) (int32, int64) { return int32(m.Partition), m.Offset }))
	}
	loop := func(ctx context.Context, m *inprocMember) {
		var pending []kafka.Message
		for ctx.Err() == nil {
			fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			msg, err := r.FetchMessage(fctx)
			cancel()
			switch {
			case err == nil:
				g.log.read(id, int32(msg.Partition), msg.Offset, string(msg.Value))
				if pending = append(pending, msg); len(pending) < 100 {
					continue
				}
			case ctx.Err() != nil:
			case !errors.Is(err, context.DeadlineExceeded):
				g.log.note(id, fmt.Sprintf("fetch: %v", err))
			}
			commit(m, pending)
			pending = nil
		}
		commit(m, pending)
	}
	return startInproc(g, id, n, loop, r.Close), nil
}
