package broker

import (
	"errors"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/raftlog"
)

// Fetch, key 1, versions 4-16 (Kafka 4.x: 4-17; v17 only adds a replica
// directory id for followers).
//
// Records are the stored batches, read by offset from Pebble with base
// offset and leader epoch filled in; nothing is decompressed. Long polling:
// if fewer than MinBytes are ready the fetch waits (up to MaxWaitMillis) for
// any of its partitions to advance. Limits: PartitionMaxBytes per partition
// and MaxBytes per response, in whole batches, except that the first batch of
// the response is always returned (KIP-74) so a consumer never stalls on a
// large batch. Topic ids replace names from v13. Fetch sessions (KIP-227,
// v7+) are in fetch_session.go.
//
// # Notes
//   - read_committed sees the high watermark (no transactions yet) and an
//     empty aborted-transactions list.
//   - A fetch from a follower (ReplicaID >= 0) is refused until replication.

func init() { regKey(1, 4, 16, handleFetch) }

// fetchPart is one partition a fetch reads, in response order.
type fetchPart struct {
	key      sessionKey
	topicID  [16]byte
	offset   int64
	maxBytes int32
	epoch    int32
	sp       *sessionPart // nil when not in a session
}

func handleFetch(b *Broker, r *request) (reply, error) {
	req := r.kreq.(*kmsg.FetchRequest)
	resp := respFor[*kmsg.FetchResponse](r)
	if req.ReplicaID >= 0 {
		resp.ErrorCode = kerr.UnknownServerError.Code
		return reply{resp: resp}, nil
	}
	byID := r.version >= 13
	view := b.view.Load()
	name := func(topic string, id [16]byte) string {
		if byID {
			if t := view.byID[id]; t != nil {
				return t.meta.Name
			}
			return ""
		}
		return topic
	}

	var parts []fetchPart
	var sess *fetchSession
	full := true
	switch {
	case r.version < 7 || (req.SessionID == 0 && req.SessionEpoch == -1):
		// Sessionless full fetch.
	case req.SessionEpoch == -1:
		b.sessions.remove(req.SessionID) // close, then a sessionless fetch
	case req.SessionEpoch == 0:
		if req.SessionID != 0 {
			b.sessions.remove(req.SessionID)
		}
		sess = b.sessions.create()
	default:
		var code int16
		sess, code = b.sessions.next(req.SessionID, req.SessionEpoch)
		if code != 0 {
			resp.ErrorCode = code
			return reply{resp: resp}, nil
		}
		full = false
	}
	if sess != nil {
		resp.SessionID = sess.id
		for _, ft := range req.ForgottenTopics {
			for _, p := range ft.Partitions {
				sess.forget(sessionKey{name(ft.Topic, ft.TopicID), p})
			}
		}
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				k := sessionKey{name(rt.Topic, rt.TopicID), rp.Partition}
				if k.topic == "" {
					// Unknown topic id: answer it this time, do not keep it.
					parts = append(parts, fetchPart{key: k, topicID: rt.TopicID, offset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes, epoch: rp.CurrentLeaderEpoch})
					continue
				}
				sess.upsert(k, rt.TopicID, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch)
			}
		}
		for _, k := range sess.order {
			sp := sess.parts[k]
			parts = append(parts, fetchPart{key: k, topicID: sp.topicID, offset: sp.fetchOffset, maxBytes: sp.maxBytes, epoch: sp.leaderEpoch, sp: sp})
		}
	} else {
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				parts = append(parts, fetchPart{key: sessionKey{name(rt.Topic, rt.TopicID), rp.Partition}, topicID: rt.TopicID,
					offset: rp.FetchOffset, maxBytes: rp.PartitionMaxBytes, epoch: rp.CurrentLeaderEpoch})
			}
		}
	}

	maxBytes := int(req.MaxBytes)
	if r.version < 3 || maxBytes <= 0 {
		maxBytes = 50 << 20
	}
	f := &fetchRun{b: b, resp: resp, parts: parts, full: full, maxBytes: maxBytes,
		minBytes: int(req.MinBytes), readCommitted: req.IsolationLevel == 1, topicNames: !byID}
	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	return reply{wait: func() kmsg.Response { return f.run(wait) }, release: f.releaseBuffers}, nil
}

type fetchRun struct {
	b             *Broker
	resp          *kmsg.FetchResponse
	parts         []fetchPart
	full          bool
	maxBytes      int
	minBytes      int
	readCommitted bool
	topicNames    bool
	// bufs are the pooled buffers the record batches were read into; the
	// response refers to them until it is encoded.
	bufs [][]byte
}

// alloc is the partitions' ReadOptions.Alloc: a buffer from the pool.
func (f *fetchRun) alloc(n int) []byte {
	b := protocol.GetBuffer(n)[:0]
	f.bufs = append(f.bufs, b)
	return b
}

// releaseBuffers gives the read buffers back to the pool, when nothing
// refers to them any more: before a new pass of read replaces the
// response's batches, and after the response is encoded.
func (f *fetchRun) releaseBuffers() {
	for i, b := range f.bufs {
		protocol.PutBuffer(b)
		f.bufs[i] = nil
	}
	f.bufs = f.bufs[:0]
}

// run reads the partitions, waiting for data up to wait when fewer than
// minBytes are ready. Each pass builds the whole response, so the usual case
// (data ready) reads every batch once.
func (f *fetchRun) run(wait time.Duration) kmsg.Response {
	deadline := time.Now().Add(wait)
	for {
		// Take the change channels before reading, so an append between
		// the read and the wait is not missed.
		chans := f.changeChans()
		n, errs := f.read()
		if n >= max(f.minBytes, 1) || errs || wait <= 0 || time.Now().After(deadline) || f.b.ctx.Err() != nil {
			break
		}
		if !waitAny(chans, time.Until(deadline), f.b.ctx.Done()) {
			f.read()
			break
		}
	}
	f.commitSession()
	return f.resp
}

func (f *fetchRun) changeChans() []<-chan struct{} {
	view := f.b.view.Load()
	var out []<-chan struct{}
	for _, fp := range f.parts {
		if t := view.byName[fp.key.topic]; t != nil && int(fp.key.part) < len(t.parts) && fp.key.part >= 0 && t.parts[fp.key.part] != nil {
			out = append(out, t.parts[fp.key.part].Changed())
		}
	}
	return out
}

// waitAny blocks until one channel closes (true), or timeout or done (false).
func waitAny(chans []<-chan struct{}, timeout time.Duration, done <-chan struct{}) bool {
	if timeout <= 0 {
		return false
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if len(chans) == 1 {
		select {
		case <-chans[0]:
			return true
		case <-timer.C:
			return false
		case <-done:
			return false
		}
	}
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)})
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	i, _, _ := reflect.Select(cases)
	return i >= 2
}

// read builds the response and returns the record bytes in it that count
// towards MinBytes and whether any partition has an error.
func (f *fetchRun) read() (int, bool) {
	view := f.b.view.Load()
	total, readyBytes := 0, 0
	hasErr := false
	f.resp.Topics = f.resp.Topics[:0]
	f.releaseBuffers()
	for i := range f.parts {
		fp := &f.parts[i]
		rp := kmsg.NewFetchResponseTopicPartition()
		rp.Partition = fp.key.part
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
		rp.RecordBatches = []byte{}
		p, code := fetchPartition(view, fp)
		if code == 0 {
			logStart, hw := p.Offsets()
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hw, hw, logStart
			if limit := min(int(fp.maxBytes), f.maxBytes-total); limit > 0 {
				recs, err := p.Read(fp.offset, raftlog.ReadOptions{MaxBytes: limit, MinOne: total == 0, Alloc: f.alloc}, nil)
				switch {
				case errors.Is(err, raftlog.ErrOffsetOutOfRange):
					code = kerr.OffsetOutOfRange.Code
				case err != nil:
					f.b.log.Error("fetch read failed", "topic", fp.key.topic, "partition", fp.key.part, "err", err)
					code = kerr.KafkaStorageError.Code
				}
				ready := len(recs)
				if t := view.byName[fp.key.topic]; len(recs) > 0 && t != nil && t.isView() {
					// Only batches with records count towards MinBytes: a
					// consumer at a filtered tail waits (up to MaxWait) for
					// records instead of fetching its empty batch again at
					// once (kafkajs never moves past one).
					if recs, ready, err = f.b.sm.viewBatches(f.b.ctx, t, recs); err != nil {
						// Stop and report: the consumer retries; the
						// log says why.
						f.b.log.Error("view's SmartModules failed", "topic", fp.key.topic, "partition", fp.key.part, "err", err)
						code = kerr.UnknownServerError.Code
					}
				}
				if len(recs) > 0 {
					total += len(recs)
					rp.RecordBatches = recs
				}
				readyBytes += ready
			} else if fp.offset < logStart || fp.offset > hw {
				code = kerr.OffsetOutOfRange.Code
			}
		}
		rp.ErrorCode = code
		hasErr = hasErr || code != 0
		if f.readCommitted {
			rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
		}
		if sp := fp.sp; sp != nil && !f.full && len(rp.RecordBatches) == 0 && code == 0 &&
			sp.sentHW == rp.HighWatermark && sp.sentLSO == rp.LastStableOffset && sp.sentLogStart == rp.LogStartOffset {
			continue // incremental fetch: nothing new for this partition
		}
		f.addPartition(fp, rp)
	}
	return readyBytes, hasErr
}

// commitSession records what the final response told the client, and counts
// what it carried.
func (f *fetchRun) commitSession() {
	bySession := map[sessionKey]*sessionPart{}
	for i := range f.parts {
		if sp := f.parts[i].sp; sp != nil {
			bySession[sp.key] = sp
		}
	}
	for _, t := range f.resp.Topics {
		for _, rp := range t.Partitions {
			f.b.metrics.partitionError(1, rp.ErrorCode)
			if len(rp.RecordBatches) > 0 {
				f.b.metrics.topicOut.WithLabelValues(t.Topic).Add(float64(len(rp.RecordBatches)))
			}
			if sp := bySession[sessionKey{t.Topic, rp.Partition}]; sp != nil {
				sp.sentHW, sp.sentLSO, sp.sentLogStart = rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset
			}
		}
	}
}

// addPartition appends rp under its topic, grouping consecutive partitions
// of one topic as Kafka does.
func (f *fetchRun) addPartition(fp *fetchPart, rp kmsg.FetchResponseTopicPartition) {
	ts := f.resp.Topics
	if n := len(ts); n == 0 || ts[n-1].Topic != fp.key.topic || ts[n-1].TopicID != fp.topicID {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = fp.key.topic
		t.TopicID = fp.topicID
		f.resp.Topics = append(f.resp.Topics, t)
	}
	last := &f.resp.Topics[len(f.resp.Topics)-1]
	last.Partitions = append(last.Partitions, rp)
}

// fetchPartition resolves a fetched partition and checks the leader epoch.
func fetchPartition(view *topicView, fp *fetchPart) (*raftlog.Partition, int16) {
	if fp.key.topic == "" {
		return nil, kerr.UnknownTopicID.Code
	}
	t := view.byName[fp.key.topic]
	if t == nil || fp.key.part < 0 || int(fp.key.part) >= len(t.parts) {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	p := t.parts[fp.key.part]
	if p == nil || !p.IsLeader() {
		return nil, kerr.NotLeaderForPartition.Code
	}
	if code := checkLeaderEpoch(p, fp.epoch); code != 0 {
		return nil, code
	}
	return p, 0
}

// checkLeaderEpoch applies KIP-320 fencing: a client's current leader epoch
// older than ours is fenced; a newer one means our metadata is behind.
func checkLeaderEpoch(p *raftlog.Partition, epoch int32) int16 {
	if epoch < 0 {
		return 0
	}
	cur := p.LeaderEpoch()
	switch {
	case epoch < cur:
		return kerr.FencedLeaderEpoch.Code
	case epoch > cur:
		return kerr.UnknownLeaderEpoch.Code
	}
	return 0
}
