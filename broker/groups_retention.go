package broker

import (
	"time"

	"github.com/skiffstream/skiff/raftlog"
)

// Offsets retention (offsets.retention.minutes). Every
// OffsetsRetentionCheckInterval the coordinator expires committed offsets
// through the offsets Raft group, and removes the empty groups that have no
// offsets left, as Kafka's group coordinator does.
//
// Which offsets expire follows Kafka 4's ClassicGroup.offsetExpirationCondition:
//   - an Empty group with a protocol type (its consumers have all left):
//     every offset, once the group has been empty for the retention;
//   - a group without a protocol type (one that only ever committed offsets:
//     an admin tool, or consumers with manual assignment): each offset, the
//     retention after its commit;
//   - a Stable group of the consumer protocol: the offsets of topics no
//     member subscribes to, the retention after their commit;
//   - any other group (rebalancing, or members of another protocol type):
//     none;
//   - a group of the consumer protocol (KIP-848): the offsets of topics no
//     member subscribes to, the retention after their commit, and the group
//     once it has no members nor offsets (consumer_group_offsets.go).
//
// An Empty group left without offsets is removed (its metadata is deleted
// through Raft), whether or not it ever had any, as in Kafka.
//
// # Notes
//   - A commit in flight is never expired: the group's lock is held from a
//     Raft barrier (which waits until every entry submitted before it is
//     applied) to the submission of the delete, and commits of a group are
//     submitted under that lock, so the delete cannot overtake a commit
//     that its decision did not see.
//   - The clock of an Empty group is its state time, stored with the group,
//     so a restart does not reset it; commit times are stored too.

// offsetsRetention is c.OffsetsRetention, or Kafka's default of 7 days.
func (c *Config) offsetsRetention() time.Duration {
	if c.OffsetsRetention <= 0 {
		return 7 * 24 * time.Hour
	}
	return c.OffsetsRetention
}

// offsetsRetentionCheckInterval is c.OffsetsRetentionCheckInterval, or
// Kafka's default of 10 minutes, but never longer than the retention.
func (c *Config) offsetsRetentionCheckInterval() time.Duration {
	d := c.OffsetsRetentionCheckInterval
	if d <= 0 {
		d = 10 * time.Minute
	}
	return min(d, c.offsetsRetention())
}

// offsetsExpiryLoop runs expireOffsets every check interval until the
// broker closes.
func (b *Broker) offsetsExpiryLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.offsetsRetentionCheckInterval())
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case now := <-t.C:
			if b.groups != nil {
				b.groups.expireOffsets(now)
			}
		}
	}
}

// barrierTimeout bounds the Raft barrier of one group's expiry.
const barrierTimeout = 5 * time.Second

// expireOffsets applies the retention to every group, as of now.
func (c *coordinator) expireOffsets(now time.Time) {
	retention := c.b.cfg.offsetsRetention()
	for _, g := range c.sortedGroups() {
		if c.closed.Load() || c.b.ctx.Err() != nil || !c.store.IsLeader() {
			return
		}
		g.mu.Lock()
		if expired, remove := g.expiry(now, retention); len(expired) > 0 || remove {
			g.expire(now, retention)
		}
		g.mu.Unlock()
	}
}

// expire deletes what expiry decides after a barrier, so that no commit of
// the group is still on its way to the FSM. g.mu is held.
func (g *group) expire(now time.Time, retention time.Duration) {
	c := g.c
	if err := c.store.WaitLeader(barrierTimeout); err != nil {
		c.b.log.Warn("offsets retention: raft barrier", "group", g.name, "err", err)
		return
	}
	expired, remove := g.expiry(now, retention)
	var f *raftlog.OffsetsFuture
	switch {
	case remove:
		f = c.store.DeleteGroup(g.name) // submitted before the group is forgotten: a new group of the name commits after it
		c.remove(g)
		c.b.log.Info("removed empty consumer group", "group", g.name, "expired_offsets", len(expired))
	case len(expired) > 0:
		f = c.store.DeleteOffsets(g.name, expired)
		c.b.log.Info("expired committed offsets", "group", g.name, "partitions", len(expired))
	default:
		return
	}
	go func() {
		if err := f.Wait(); err != nil && !c.closed.Load() {
			c.b.log.Warn("offsets retention", "group", g.name, "err", err)
		}
	}()
}

// expiry returns the group's offsets that have expired, and whether the
// group is then to be removed (Empty, no KIP-394 member id outstanding, no
// offset left). g.mu is held.
func (g *group) expiry(now time.Time, retention time.Duration) (expired []raftlog.TopicPartition, remove bool) {
	if g.state == groupDead {
		return nil, false
	}
	if g.cg != nil {
		return g.consumerExpiry(now, retention)
	}
	offsets := g.c.store.GroupOffsets(g.name)
	all := len(offsets)
	nowMs, retMs := now.UnixMilli(), retention.Milliseconds()
	old := func(since int64) bool { return nowMs-since >= retMs }
	var subscribed map[string]bool
	switch {
	case g.protocolType == "":
	case g.state == groupEmpty:
		if !old(g.stateTime.UnixMilli()) {
			offsets = nil
		}
	case g.protocolType == "consumer" && g.state == groupStable:
		subscribed = map[string]bool{}
		for _, m := range g.members {
			for _, t := range m.subscribedTopics(g.protocol) {
				subscribed[t] = true
			}
		}
	default:
		offsets = nil
	}
	for _, o := range offsets {
		if g.protocolType == "" || subscribed != nil {
			if subscribed[o.Topic] || !old(o.CommitTime) {
				continue
			}
		}
		expired = append(expired, o.TopicPartition)
	}
	remove = g.state == groupEmpty && len(g.pending) == 0 && len(expired) == all
	return expired, remove
}
