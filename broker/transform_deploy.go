package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/raftlog"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// Topic-to-topic SmartModule deployments (`skiff transform deploy`).
//
// A deployment (raftlog.TransformMeta, in the controller) runs its chain
// over every record of its input topic and writes what comes out to its
// output topics. One worker per input partition, on the node that leads it
// (it checks leadership before each read, so it follows the leader). A
// worker reads batches from its progress on, runs them through the chain,
// appends the outputs (to the output partition of the same number, modulo
// the output's partition count, so per-partition order is kept) and waits
// for those appends to commit, then commits its progress through Raft in
// the offsets group, under the group name "_skiff_transform.<name>". A crash
// between the two replays the batch: at least once. Output records keep the
// input's key, timestamp and headers unless the module changes them.
//
// Error policy: fail stops the partition's worker and reports the error in
// `skiff transform describe` (resume restarts it from the failed batch);
// skip and dead-letter:TOPIC drop the record (the latter writes it to TOPIC
// with headers naming the error) and go on.

// progressGroup is the offsets-group name of a deployment's progress.
func progressGroup(name string) string { return "_skiff_transform." + name }

type deployments struct {
	b       *Broker
	mu      sync.Mutex
	running map[string]*deployRun
	wg      sync.WaitGroup
	stopped bool
}

type deployRun struct {
	d      *deployments
	meta   *raftlog.TransformMeta
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	chain *chain.Chain
	err   error // the chain did not build
	parts map[int32]*deployPart
}

// deployPart is one input partition's worker state.
type deployPart struct {
	partition  int32
	progress   atomic.Int64
	end        atomic.Int64
	recordsIn  atomic.Int64
	recordsOut atomic.Int64
	warmed     bool // lookback replayed (worker goroutine only)
	mu         sync.Mutex
	state      string // running, idle, failed, not leader
	lastErr    string
}

func newDeployments(b *Broker) *deployments {
	return &deployments{b: b, running: map[string]*deployRun{}}
}

// reconcile starts the deployments the metadata names (and are not paused),
// stops the others, and starts workers for new input partitions. It runs
// under Broker.mu and never blocks on a chain build.
func (d *deployments) reconcile() {
	if d.b.ctrl == nil {
		return
	}
	meta := d.b.ctrl.Meta()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	for name, run := range d.running {
		if t := meta.Transforms[name]; t == nil || t.Paused {
			run.cancel()
			delete(d.running, name)
		}
	}
	for name, t := range meta.Transforms {
		if t.Paused {
			continue
		}
		run := d.running[name]
		if run == nil {
			ctx, cancel := context.WithCancel(d.b.ctx)
			run = &deployRun{d: d, meta: t, ctx: ctx, cancel: cancel, parts: map[int32]*deployPart{}}
			d.running[name] = run
			d.wg.Add(1)
			go run.start()
			continue
		}
		run.ensureWorkers()
	}
}

func (d *deployments) stop() {
	d.mu.Lock()
	d.stopped = true
	for _, run := range d.running {
		run.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *deployments) get(name string) *deployRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running[name]
}

// start builds the chain, then starts the workers.
func (r *deployRun) start() {
	defer r.d.wg.Done()
	outputs := append([]string(nil), r.meta.Outputs...)
	c, err := r.d.b.sm.build(r.ctx, r.meta.Input, r.meta.Spec, r.meta.Policy, outputs, r.meta.Env)
	r.mu.Lock()
	r.chain, r.err = c, err
	r.mu.Unlock()
	if err != nil {
		r.d.b.log.Error("transform does not start", "transform", r.meta.Name, "err", err)
		return
	}
	r.ensureWorkers()
	<-r.ctx.Done()
	c.Close()
}

// ensureWorkers starts a worker for each input partition without one.
func (r *deployRun) ensureWorkers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chain == nil || r.ctx.Err() != nil {
		return
	}
	t := r.d.b.topic(r.meta.Input)
	if t == nil {
		return
	}
	for i := range t.parts {
		if r.parts[int32(i)] == nil {
			dp := &deployPart{partition: int32(i), state: "starting"}
			r.parts[int32(i)] = dp
			r.d.wg.Add(1)
			go r.work(dp)
		}
	}
}

func (dp *deployPart) set(state string, err error) {
	dp.mu.Lock()
	dp.state = state
	if err != nil {
		dp.lastErr = err.Error()
	}
	dp.mu.Unlock()
}

// work runs one input partition until the deployment stops or fails.
func (r *deployRun) work(dp *deployPart) {
	defer r.d.wg.Done()
	log := r.d.b.log.With("transform", r.meta.Name, "partition", dp.partition)
	group := progressGroup(r.meta.Name)
	tp := raftlog.TopicPartition{Topic: r.meta.Input, Partition: dp.partition}
	offset, pid := int64(-1), int64(-1)
	backoff := func(d time.Duration) bool {
		select {
		case <-r.ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for r.ctx.Err() == nil {
		t := r.d.b.topic(r.meta.Input)
		if t == nil || int(dp.partition) >= len(t.parts) || t.parts[dp.partition] == nil {
			dp.set("input gone", nil)
			if !backoff(time.Second) {
				return
			}
			continue
		}
		p := t.parts[dp.partition]
		if !p.IsLeader() {
			dp.set("not leader", nil)
			offset = -1 // read the progress again when leading
			if !backoff(time.Second) {
				return
			}
			continue
		}
		if offset < 0 {
			var err error
			if offset, pid, err = r.startOffset(p, group, tp); err != nil {
				dp.set("retrying", err)
				if !backoff(time.Second) {
					return
				}
				continue
			}
			dp.progress.Store(offset)
			if !dp.warmed {
				// Once per worker: later restarts of the read keep the
				// state the chain has.
				if err := r.warm(p, offset); err != nil {
					log.Warn("lookback replay failed; the aggregate starts from its initial state", "err", err)
				}
				dp.warmed = true
			}
		}
		changed := p.Changed()
		logStart, hw := p.Offsets()
		dp.end.Store(hw)
		if offset < logStart {
			log.Warn("input records deleted before the transform read them; skipping ahead", "from", offset, "to", logStart)
			offset = logStart
		}
		recs, err := p.Read(offset, raftlog.ReadOptions{MaxBytes: 1 << 20, MinOne: true}, nil)
		if err != nil && !errors.Is(err, raftlog.ErrOffsetOutOfRange) {
			dp.set("retrying", err)
			if !backoff(time.Second) {
				return
			}
			continue
		}
		if len(recs) == 0 {
			dp.set("idle", nil)
			select {
			case <-r.ctx.Done():
				return
			case <-changed:
			case <-time.After(time.Second):
			}
			continue
		}
		dp.set("running", nil)
		next, err := r.processBatches(dp, recs, offset, pid)
		if errors.Is(err, errTestCrash) {
			return
		}
		if err != nil {
			var fatal *fatalTransformError
			if errors.As(err, &fatal) {
				log.Error("transform stopped: fix the module or the data, then `skiff transform resume` (or redeploy with --error-policy skip or dead-letter:TOPIC)", "err", err)
				dp.set("failed", err)
				return
			}
			log.Warn("transform output not written; retrying", "err", err)
			dp.set("retrying", err)
			if !backoff(time.Second) {
				return
			}
			continue
		}
		if next > offset {
			if err := r.commit(group, tp, next, pid); err != nil {
				dp.set("retrying", err)
				if !backoff(time.Second) {
					return
				}
				continue
			}
			offset = next
			dp.progress.Store(offset)
		}
	}
}

// warm replays the records before offset that the chain's lookback asks
// for (Fluvio's `lookback: {last: N, age: D}`), so that an aggregate starts
// from the state those records give it; their outputs are discarded.
func (r *deployRun) warm(p *raftlog.Partition, offset int64) error {
	spec, err := chain.ParseSpec([]byte(r.meta.Spec))
	if err != nil {
		return err
	}
	lb := spec.Lookback()
	if lb == nil || offset <= 0 {
		return nil
	}
	logStart, _ := p.Offsets()
	from := logStart
	if lb.Last > 0 {
		from = max(logStart, offset-lb.Last)
	}
	minTs := int64(math.MinInt64)
	if lb.Age > 0 {
		minTs = time.Now().Add(-lb.Age).UnixMilli()
	}
	var batches []engine.Batch
	for from < offset {
		recs, err := p.Read(from, raftlog.ReadOptions{MaxBytes: 1 << 20, MinOne: true, MaxOffset: offset}, nil)
		if err != nil || len(recs) == 0 {
			break
		}
		for len(recs) > 0 {
			h, err := protocol.ParseBatchHeader(recs)
			if err != nil || h.TotalSize() > len(recs) {
				break
			}
			raw := recs[:h.TotalSize()]
			recs = recs[h.TotalSize():]
			from = h.BaseOffset + int64(h.LastOffsetDelta) + 1
			if h.Control() {
				continue
			}
			b, err := engine.ParseBatch(raw, maxDecompressedBatch)
			if err != nil {
				return err
			}
			kept := b.Records[:0]
			for _, rec := range b.Records {
				off := h.BaseOffset + int64(rec.OffsetDelta)
				if off >= offset-lb.Last || lb.Last <= 0 {
					if off < offset && h.BaseTimestamp+rec.TimestampDelta >= minTs {
						kept = append(kept, rec)
					}
				}
			}
			if b.Records = kept; len(kept) > 0 {
				batches = append(batches, b)
			}
		}
	}
	if len(batches) == 0 {
		return nil
	}
	r.d.b.log.Info("transform lookback replayed", "transform", r.meta.Name, "partition_offset", offset, "batches", len(batches))
	return r.chain.Warm(r.ctx, batches)
}

// fatalTransformError is a chain error under the fail policy.
type fatalTransformError struct{ err error }

func (e *fatalTransformError) Error() string { return e.err.Error() }
func (e *fatalTransformError) Unwrap() error { return e.err }

// startOffset is the committed progress, or the deployment's
// --from-offset, and the producer id this input partition writes its
// outputs with. A new id is committed with the start offset before anything
// is written, so that a replay after a crash writes with the same id.
func (r *deployRun) startOffset(p *raftlog.Partition, group string, tp raftlog.TopicPartition) (int64, int64, error) {
	c, ok := r.d.b.groups.store.Fetch(group, tp)
	if ok && c.Offset >= 0 {
		if pid, err := strconv.ParseInt(strings.TrimPrefix(c.Metadata, "pid="), 10, 64); err == nil {
			return c.Offset, pid, nil
		}
	}
	start, err := r.fromOffset(p)
	if err != nil {
		return 0, 0, err
	}
	if ok && c.Offset >= 0 {
		start = c.Offset // progress from before producer ids
	}
	pid, err := r.d.b.ctrl.AllocateProducerID()
	if err != nil {
		return 0, 0, err
	}
	if err := r.commit(group, tp, start, pid); err != nil {
		return 0, 0, err
	}
	return start, pid, nil
}

// commit records a partition's progress through Raft.
func (r *deployRun) commit(group string, tp raftlog.TopicPartition, offset, pid int64) error {
	return r.d.b.groups.store.Commit(group, []raftlog.OffsetCommit{{TopicPartition: tp, Committed: raftlog.Committed{
		Offset: offset, LeaderEpoch: -1, CommitTime: time.Now().UnixMilli(), Metadata: "pid=" + strconv.FormatInt(pid, 10),
	}}}).Wait()
}

// fromOffset is where a partition without progress starts.
func (r *deployRun) fromOffset(p *raftlog.Partition) (int64, error) {
	logStart, hw := p.Offsets()
	from := r.meta.FromOffset
	switch {
	case from == "" || from == "earliest":
		return logStart, nil
	case from == "latest":
		return hw, nil
	case strings.HasPrefix(from, "@"):
		ms, err := strconv.ParseInt(from[1:], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("from-offset %q: want @<unix millis>", from)
		}
		off, _, err := p.OffsetForTimestamp(ms)
		if err != nil || off < 0 {
			return hw, err
		}
		return off, nil
	}
	return 0, fmt.Errorf("from-offset %q: want earliest, latest or @<unix millis>", from)
}

// roundBatches bounds the input batches processed between two progress
// commits. A replay after a crash re-sends at most this many batches to
// each output partition, which the idempotent-producer window (the last 5
// batches of each producer, raftlog) recognises as duplicates.
const roundBatches = 4

// errTestCrash lets a test stop a worker between its appends and its
// commit, as a crash would.
var errTestCrash = errors.New("test crash")

// deployTestHookAfterAppend, when set, runs after a round's appends; an
// error ends the worker there.
var deployTestHookAfterAppend func(name string) error

// processBatches runs up to roundBatches input batches read from offset on
// through the chain, appends the outputs and waits for them. It returns
// the offset after the last batch done.
//
// Exactly once: every input batch is written to every output partition it
// may reach (each output topic's partition of the input's number, and the
// dead-letter topic's) as one batch of the input partition's producer id
// whose sequence numbers are the input offsets, even when it holds no
// record (it then records the sequence only). Replayed after a crash, the
// same batch is a duplicate there and is not stored again.
func (r *deployRun) processBatches(dp *deployPart, recs []byte, offset, pid int64) (int64, error) {
	next := offset
	type pending struct {
		fut   *raftlog.AppendFuture
		topic string
	}
	var waits []pending
	targets := append([]string(nil), r.meta.Outputs...)
	_, dlTopic, dl := strings.Cut(r.meta.Policy, "dead-letter:")
	if dl {
		targets = append(targets, dlTopic)
	}
	done := 0
	for len(recs) > 0 && done < roundBatches {
		h, err := protocol.ParseBatchHeader(recs)
		if err != nil || h.TotalSize() > len(recs) {
			break
		}
		raw := recs[:h.TotalSize()]
		recs = recs[h.TotalSize():]
		last := h.BaseOffset + int64(h.LastOffsetDelta)
		if last < offset || h.Control() {
			next = max(next, last+1)
			continue
		}
		batch, err := engine.ParseBatch(raw, maxDecompressedBatch)
		if err != nil {
			return next, &fatalTransformError{fmt.Errorf("input batch at offset %d: %w", h.BaseOffset, err)}
		}
		// Records before offset were done in an earlier round.
		first := max(h.BaseOffset, offset)
		skip := 0
		for skip < len(batch.Records) && h.BaseOffset+int64(batch.Records[skip].OffsetDelta) < offset {
			skip++
		}
		batch.Records = batch.Records[skip:]
		res, err := r.chain.Process(r.ctx, batch)
		if err != nil {
			if r.ctx.Err() != nil {
				return next, r.ctx.Err()
			}
			return next, &fatalTransformError{err}
		}
		dp.recordsIn.Add(int64(len(batch.Records)))
		dp.recordsOut.Add(int64(len(res.Outputs)))
		byTarget := make([][]protocol.Record, len(targets))
		for _, o := range res.Outputs {
			byTarget[o.Topic] = append(byTarget[o.Topic], o.Record)
		}
		for _, f := range res.DeadLetters {
			in := batch.Records[f.Input]
			byTarget[len(targets)-1] = append(byTarget[len(targets)-1], chain.DeadLetterRecord(in, f, r.meta.Input, dp.partition, h.BaseOffset+int64(in.OffsetDelta)))
		}
		seq := outputSeq{pid: pid, first: first, last: last}
		for i, out := range byTarget {
			fut, err := r.appendTo(targets[i], dp.partition, h, out, seq)
			if err != nil {
				return offset, err
			}
			waits = append(waits, pending{fut, targets[i]})
		}
		next = last + 1
		done++
	}
	for _, w := range waits {
		if res := w.fut.Wait(); res.Err != nil {
			return offset, fmt.Errorf("append to %s: %w", w.topic, res.Err)
		}
	}
	if hook := deployTestHookAfterAppend; hook != nil && len(waits) > 0 {
		if err := hook(r.meta.Name); err != nil {
			return offset, errTestCrash
		}
	}
	return next, nil
}

// outputSeq is the idempotent-producer identity of the outputs of one input
// batch: the input partition's producer id, and the input offsets it covers
// as sequence numbers (modulo 2^31, as Kafka's sequences wrap).
type outputSeq struct {
	pid         int64
	first, last int64
}

// appendTo appends records (timestamps relative to in's base timestamp)
// to the partition of topic numbered like the input's, modulo its count, as
// the batch of seq (with no record, the sequence alone).
func (r *deployRun) appendTo(topic string, partition int32, in protocol.BatchHeader, recs []protocol.Record, seq outputSeq) (*raftlog.AppendFuture, error) {
	t := r.d.b.topic(topic)
	p, n := t.mirrorPartition(partition)
	if p == nil {
		return nil, fmt.Errorf("output topic %s partition %d is not open or the topic does not exist", topic, n)
	}
	h := protocol.BatchHeader{BaseTimestamp: in.BaseTimestamp, MaxTimestamp: in.BaseTimestamp,
		ProducerID: seq.pid, ProducerEpoch: 0, BaseSequence: int32(seq.first & math.MaxInt32)}
	seqDelta := int32(seq.last - seq.first)
	if len(recs) == 0 {
		empty, err := protocol.BuildSparseBatch(h, nil, protocol.CodecNone, -1)
		if err != nil {
			return nil, err
		}
		return p.AppendTransformed(empty, seqDelta), nil
	}
	for _, rec := range recs {
		h.MaxTimestamp = max(h.MaxTimestamp, in.BaseTimestamp+rec.TimestampDelta)
	}
	batch, err := protocol.BuildBatch(h, recs, in.Compression())
	if err != nil {
		return nil, err
	}
	if t.cfg.logAppendTime {
		protocol.SetLogAppendTime(batch, time.Now().UnixMilli())
	}
	return p.AppendTransformed(batch, seqDelta), nil
}

// TransformStatus is what `skiff transform describe` shows.
type TransformStatus struct {
	raftlog.TransformMeta
	State      string                     `json:"state"`
	Error      string                     `json:"error,omitempty"`
	Partitions []TransformPartitionStatus `json:"partitions"`
	Steps      []chain.StepStats          `json:"steps"`
}

// TransformPartitionStatus is one input partition of a deployment.
type TransformPartitionStatus struct {
	Partition  int32  `json:"partition"`
	State      string `json:"state"`
	Progress   int64  `json:"progress"`
	End        int64  `json:"end"`
	Lag        int64  `json:"lag"`
	RecordsIn  int64  `json:"records_in"`
	RecordsOut int64  `json:"records_out"`
	Error      string `json:"error,omitempty"`
}

// status describes a deployment.
func (d *deployments) status(meta *raftlog.TransformMeta) TransformStatus {
	st := TransformStatus{TransformMeta: *meta, State: "paused"}
	run := d.get(meta.Name)
	if run == nil {
		return st
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	switch {
	case run.err != nil:
		st.State, st.Error = "failed", run.err.Error()
	case run.chain == nil:
		st.State = "starting"
	default:
		st.State = "running"
		st.Steps = run.chain.Stats()
	}
	for i := int32(0); i < int32(len(run.parts)); i++ {
		dp := run.parts[i]
		if dp == nil {
			continue
		}
		dp.mu.Lock()
		ps := TransformPartitionStatus{Partition: i, State: dp.state, Error: dp.lastErr,
			Progress: dp.progress.Load(), End: dp.end.Load(), RecordsIn: dp.recordsIn.Load(), RecordsOut: dp.recordsOut.Load()}
		dp.mu.Unlock()
		if t := d.b.topic(meta.Input); t != nil && int(i) < len(t.parts) && t.parts[i] != nil {
			_, ps.End = t.parts[i].Offsets()
		}
		ps.Lag = max(ps.End-ps.Progress, 0)
		if ps.State == "failed" && st.State == "running" {
			st.State = "failed"
		}
		st.Partitions = append(st.Partitions, ps)
	}
	return st
}

// transformCollector exports SmartModule figures to Prometheus: per step of
// every chain running on this node (produce-time, view and deployment
// chains), and the lag of deployments.
type transformCollector struct {
	b                                             *Broker
	in, out, dropped, errored, bin, bout, ns, lag *prometheus.Desc
}

func newTransformCollector(b *Broker) *transformCollector {
	l := []string{"attach", "name", "step", "module"}
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, l, nil) }
	return &transformCollector{
		b:       b,
		in:      d("skiff_smartmodule_records_in_total", "Records a SmartModule step read. attach is ingest (produce time, name = topic), view (name = view topic) or transform (name = deployment)."),
		out:     d("skiff_smartmodule_records_out_total", "Records a SmartModule step wrote."),
		dropped: d("skiff_smartmodule_records_dropped_total", "Records a step wrote nothing for (filtered out)."),
		errored: d("skiff_smartmodule_records_errored_total", "Records (or batches) a step failed on, whatever the error policy did with them."),
		bin:     d("skiff_smartmodule_bytes_in_total", "Key, value and header bytes a step read."),
		bout:    d("skiff_smartmodule_bytes_out_total", "Key, value and header bytes a step wrote."),
		ns:      d("skiff_smartmodule_seconds_total", "Time a step spent in its module."),
		lag:     prometheus.NewDesc("skiff_transform_lag", "Input records a topic-to-topic transform has not processed yet.", []string{"transform", "partition"}, nil),
	}
}

func (c *transformCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.in, c.out, c.dropped, c.errored, c.bin, c.bout, c.ns, c.lag} {
		ch <- d
	}
}

func (c *transformCollector) steps(ch chan<- prometheus.Metric, attach, name string, steps []chain.StepStats) {
	for i, s := range steps {
		lv := []string{attach, name, strconv.Itoa(i + 1), s.Module}
		ch <- prometheus.MustNewConstMetric(c.in, prometheus.CounterValue, float64(s.RecordsIn), lv...)
		ch <- prometheus.MustNewConstMetric(c.out, prometheus.CounterValue, float64(s.RecordsOut), lv...)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), lv...)
		ch <- prometheus.MustNewConstMetric(c.errored, prometheus.CounterValue, float64(s.Errors), lv...)
		ch <- prometheus.MustNewConstMetric(c.bin, prometheus.CounterValue, float64(s.BytesIn), lv...)
		ch <- prometheus.MustNewConstMetric(c.bout, prometheus.CounterValue, float64(s.BytesOut), lv...)
		ch <- prometheus.MustNewConstMetric(c.ns, prometheus.CounterValue, s.Time.Seconds(), lv...)
	}
}

func (c *transformCollector) Collect(ch chan<- prometheus.Metric) {
	if c.b.ctrl == nil || !c.b.Ready() {
		return
	}
	for key, steps := range c.b.sm.stats() {
		c.steps(ch, key.purpose, key.topic, steps)
	}
	for _, meta := range c.b.ctrl.Meta().Transforms {
		st := c.b.deploys.status(meta)
		c.steps(ch, "transform", meta.Name, st.Steps)
		for _, p := range st.Partitions {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(p.Lag), meta.Name, strconv.Itoa(int(p.Partition)))
		}
	}
}
