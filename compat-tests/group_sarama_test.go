package compat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestCompatGroupSarama runs the consumer group scenario (group_test.go) with sarama's
// ConsumerGroup at its default protocol version (V2_1_0_0: JoinGroup v3, OffsetCommit
// v6): the sticky balance strategy (eager in sarama), a synchronous commit of each batch
// a claim reads, and a member killed by closing its connections (sarama dials through
// Net.Proxy.Dialer).
func TestCompatGroupSarama(t *testing.T) {
	runGroupScenario(t, groupClient{
		name:     "sarama",
		assignor: "sticky (eager)",
		start:    startSaramaMember,
	})
}

func startSaramaMember(g *groupRun, id string) (groupMember, error) {
	n := &killableNet{}
	cfg := saramaConfig()
	cfg.ClientID = g.clientID(id)
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = n
	cfg.Consumer.Group.Session.Timeout = groupSessionTimeout
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 20 * time.Second
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 200 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cg, err := sarama.NewConsumerGroup([]string{g.s.Addr()}, g.group, cfg)
	if err != nil {
		return nil, err
	}
	go func() {
		for err := range cg.Errors() {
			g.log.note(id, err.Error())
		}
	}()
	loop := func(ctx context.Context, m *inprocMember) {
		h := &saramaGroupHandler{g: g, id: id, m: m}
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{g.topic}, h); err != nil {
				g.log.note(id, fmt.Sprintf("consume: %v", err))
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return startInproc(g, id, n, loop, cg.Close), nil
}

// saramaGroupHandler reads each claim in batches of what is buffered and commits after
// each batch unless the member is held.
type saramaGroupHandler struct {
	g  *groupRun
	id string
	m  *inprocMember
}

func (h *saramaGroupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.g.log.assignment(h.id, sess.Claims()[h.g.topic])
	return nil
}

func (h *saramaGroupHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.g.log.assignment(h.id, nil)
	return nil
}

func (h *saramaGroupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch := []*sarama.ConsumerMessage{msg}
		drain:
			for len(batch) < 500 {
				select {
				case msg, ok := <-claim.Messages():
					if !ok {
						break drain
					}
					batch = append(batch, msg)
				default:
					break drain
				}
			}
			for _, msg := range batch {
				h.g.log.read(h.id, msg.Partition, msg.Offset, string(msg.Value))
			}
			if h.m.held.Load() {
				continue
			}
			last := batch[len(batch)-1]
			sess.MarkMessage(last, "")
			sess.Commit()
			// Commit reports failures only on Errors(); a commit that raced with the end
			// of the session may have failed, so only one made in a live session counts.
			if sess.Context().Err() == nil {
				h.g.log.commit(h.id, map[int32]int64{last.Partition: last.Offset + 1})
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}
