package broker

import (
	"time"
)

// retentionLoop applies retention.ms and retention.bytes: every
// RetentionCheckInterval it moves each led partition's log start offset
// past the batches to delete (through Raft, so replicas agree) and reclaims
// the Raft entries below it with range deletes.
func (b *Broker) retentionLoop() {
	defer b.wg.Done()
	every := b.cfg.RetentionCheckInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			b.applyRetention(time.Now())
		}
	}
}

func (b *Broker) applyRetention(now time.Time) {
	for name, t := range b.view.Load().byName {
		if t.isView() {
			continue // its partitions are its source's
		}
		for i, p := range t.parts {
			if p == nil || !p.IsLeader() || b.ctx.Err() != nil {
				continue
			}
			start, _ := p.Offsets()
			if off := p.RetentionOffset(t.cfg.retentionMs, t.cfg.retentionBytes, now); off > start {
				if r := p.Truncate(off); r.Err != nil {
					b.log.Warn("retention failed", "topic", name, "partition", i, "err", r.Err)
					continue
				}
				b.log.Debug("retention", "topic", name, "partition", i, "log_start_offset", off)
				if err := p.Snapshot(); err != nil {
					b.log.Warn("snapshot before reclaim failed", "topic", name, "partition", i, "err", err)
				}
			}
			if err := p.Reclaim(); err != nil {
				b.log.Warn("reclaim failed", "topic", name, "partition", i, "err", err)
			}
		}
	}
}
