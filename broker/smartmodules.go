package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/raftlog"
	"github.com/skiffstream/skiff/transforms/builtin"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// SmartModules inside the broker (DESIGN.md decision 7, issue 4): where the
// chains of a node run.
//
//   - Produce time: a topic whose config skiff.ingest.transforms holds a
//     transforms.yml runs that chain over each produced batch before it is
//     appended (00_produce.go calls ingest).
//   - Read-time views: a topic created with skiff.view.of=T has no storage
//     of its own: its partitions are T's, and Fetch runs the chain of
//     skiff.view.transforms over the batches it reads (01_fetch.go calls
//     viewBatches). Offsets are T's: a filter leaves gaps, as compaction
//     does.
//   - Topic to topic: deployments stored in the controller
//     (transform_deploy.go).
//
// One wazero engine per node, created on first use, with its compilation
// cache in <data-dir>/wasm-cache so a module is compiled once per machine.
// Chains are built on first use and kept until the topic's config changes.

// Topic configs of SmartModules. Their values are checked when set (a
// transforms.yml must parse and name modules that exist).
const (
	cfgIngestTransforms = "skiff.ingest.transforms"
	cfgIngestPolicy     = "skiff.ingest.error.policy"
	cfgViewOf           = "skiff.view.of"
	cfgViewTransforms   = "skiff.view.transforms"
)

type smartModules struct {
	b *Broker

	engOnce sync.Once
	eng     *engine.Engine
	engErr  error

	mu     sync.Mutex
	chains map[chainKey]*chainEntry
	logs   *moduleLogs

	turnMu sync.Mutex
	turns  map[uint64]chan struct{} // by partition group: the last run's "submitted"
}

// chainKey names a chain: what it is for ("ingest" or "view") and its topic.
type chainKey struct{ purpose, topic string }

// chainEntry is a built chain and what it was built from, so a config
// change, or a change of the stored modules, builds a new one.
type chainEntry struct {
	spec, policy string
	outputs      []string
	modulesGen   uint64
	chain        *chain.Chain
	err          error
}

func newSmartModules(b *Broker) *smartModules {
	return &smartModules{b: b, chains: map[chainKey]*chainEntry{}, logs: newModuleLogs(200), turns: map[uint64]chan struct{}{}}
}

// closedChan is a turn that is already over.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// takeTurn queues a produce-time run on a partition: it returns the channel
// of the run before it (closed once that one submitted its append) and
// makes mine the one the next run waits for.
func (s *smartModules) takeTurn(group uint64, mine chan struct{}) <-chan struct{} {
	s.turnMu.Lock()
	defer s.turnMu.Unlock()
	prev, ok := s.turns[group]
	if !ok {
		prev = closedChan
	}
	s.turns[group] = mine
	return prev
}

// endTurn forgets a finished run unless another queued behind it.
func (s *smartModules) endTurn(group uint64, mine chan struct{}) {
	s.turnMu.Lock()
	defer s.turnMu.Unlock()
	if s.turns[group] == mine {
		delete(s.turns, group)
	}
}

// engine starts the node's engine on first use.
func (s *smartModules) engine() (*engine.Engine, error) {
	s.engOnce.Do(func() {
		cfg := engine.Config{Logger: slogTee(s.b.log.With("component", "smartmodule"), s.logs)}
		switch {
		case s.b.cfg.TransformCacheDir != "":
			cfg.CacheDir = s.b.cfg.TransformCacheDir
		case s.b.cfg.DataDir != "":
			cfg.CacheDir = filepath.Join(s.b.cfg.DataDir, "wasm-cache")
		}
		cfg.MemoryLimit = s.b.cfg.TransformMemoryLimit
		cfg.BatchTimeout = s.b.cfg.TransformBatchTimeout
		s.eng, s.engErr = engine.New(context.Background(), cfg)
	})
	return s.eng, s.engErr
}

// resolve maps a `uses:` name to a module: a module stored in the cluster
// first, then a built-in (so a stored module may shadow one).
func (s *smartModules) resolve(_ context.Context, uses string) (string, []byte, error) {
	name := uses
	if _, wasm, err := s.b.ctrl.Module(name); err == nil {
		return name, wasm, nil
	} else if !errors.Is(err, raftlog.ErrModuleNotFound) {
		return "", nil, err
	}
	if at := strings.LastIndexByte(name, '@'); at > 0 {
		if _, wasm, err := s.b.ctrl.Module(name[:at]); err == nil {
			return name[:at], wasm, nil
		}
	}
	if n, wasm, ok := s.builtin(name); ok {
		return n, wasm, nil
	}
	return "", nil, fmt.Errorf("no SmartModule %q: store one with `skiff smartmodule create %s --wasm-file F` (built-ins: %s)", uses, uses, strings.Join(builtin.Names(), ", "))
}

// builtin finds a module shipped in the binary.
func (s *smartModules) builtin(name string) (string, []byte, bool) {
	wasm, ok := builtin.Lookup(name)
	return name, wasm, ok
}

// chainFor returns the chain of a topic's SmartModule config, building it on
// first use or after the config or a stored module changed. It runs for
// every produced batch of a topic with produce-time SmartModules and every
// read of a view, so the check is a few comparisons.
func (s *smartModules) chainFor(ctx context.Context, purpose, topic, specText, policy string, outputs []string) (*chain.Chain, error) {
	key := chainKey{purpose, topic}
	gen := s.b.ctrl.ModulesGen()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.chains[key]
	if e != nil && e.spec == specText && e.policy == policy && e.modulesGen == gen && slices.Equal(e.outputs, outputs) {
		return e.chain, e.err
	}
	if e != nil && e.chain != nil {
		e.chain.Close()
	}
	c, err := s.build(ctx, topic, specText, policy, outputs, nil)
	s.chains[key] = &chainEntry{spec: specText, policy: policy, outputs: outputs, modulesGen: gen, chain: c, err: err}
	return c, err
}

// build makes a chain. env adds variables to every module (deployments'
// --var).
func (s *smartModules) build(ctx context.Context, input, specText, policy string, outputs []string, env map[string]string) (*chain.Chain, error) {
	eng, err := s.engine()
	if err != nil {
		return nil, fmt.Errorf("SmartModule engine: %w", err)
	}
	spec, err := chain.ParseSpec([]byte(specText))
	if err != nil {
		return nil, err
	}
	for i := range spec.Steps {
		for k, v := range env {
			if spec.Steps[i].With == nil {
				spec.Steps[i].With = map[string]string{}
			}
			if _, set := spec.Steps[i].With[k]; !set {
				spec.Steps[i].With[k] = v
			}
		}
	}
	pol, err := chain.ParsePolicy(policy)
	if err != nil {
		return nil, err
	}
	return chain.New(ctx, chain.Config{
		Engine:       eng,
		Resolve:      s.resolve,
		Native:       builtin.ChainNative,
		InputTopic:   input,
		OutputTopics: outputs,
		Policy:       pol,
		Logger:       s.b.log.With("component", "smartmodule", "topic", input),
	}, spec)
}

// stats returns the figures of the produce-time and view chains, keyed by
// purpose and topic.
func (s *smartModules) stats() map[chainKey][]chain.StepStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[chainKey][]chain.StepStats, len(s.chains))
	for key, e := range s.chains {
		if e.chain != nil {
			out[key] = e.chain.Stats()
		}
	}
	return out
}

// prune drops the chains of topics that no longer exist.
func (s *smartModules) prune(topics map[string]*topicState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, e := range s.chains {
		if topics[key.topic] == nil {
			if e.chain != nil {
				e.chain.Close()
			}
			delete(s.chains, key)
		}
	}
}

func (s *smartModules) close() {
	s.mu.Lock()
	for key, e := range s.chains {
		if e.chain != nil {
			e.chain.Close()
		}
		delete(s.chains, key)
	}
	s.mu.Unlock()
	if s.eng != nil {
		s.eng.Close(context.Background())
	}
}

// checkTopicTransforms validates the SmartModule configs of a topic being
// created or altered: the YAML parses, the policy parses, every module
// exists and, for a view, no step may emit more than one record per input
// or keep state across records. It builds the chain once, so a module that
// fails at init (bad `with:` parameters) is reported here, to the client.
func (s *smartModules) checkTopicTransforms(ctx context.Context, topic string, configs map[string]string, creating bool) error {
	if of, ok := configs[cfgViewOf]; ok {
		if creating && topic == of {
			return fmt.Errorf("%s=%s: a topic cannot be a view of itself", cfgViewOf, of)
		}
		src := s.b.topic(of)
		if src == nil {
			return fmt.Errorf("%s=%s: no such topic", cfgViewOf, of)
		}
		if src.meta.Configs[cfgViewOf] != "" {
			return fmt.Errorf("%s=%s: that topic is a view itself; make a view of its source", cfgViewOf, of)
		}
		spec := configs[cfgViewTransforms]
		if spec == "" {
			return fmt.Errorf("a view needs %s (a transforms.yml)", cfgViewTransforms)
		}
		c, err := s.build(ctx, of, spec, "fail", []string{topic}, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		for i, k := range c.Kinds() {
			if k.MaxOutputsPerInput() != 1 {
				return fmt.Errorf("step %d of the view's chain: %s module may emit more than one record per input, which a view cannot number with its source's offsets; deploy it topic to topic instead (skiff transform deploy)", i+1, withArticle(kindName(k)))
			}
			if k == "aggregate" {
				return fmt.Errorf("step %d of the view's chain: an aggregate's output depends on every record before it, which a view that consumers start anywhere cannot give; deploy it topic to topic instead (skiff transform deploy)", i+1)
			}
		}
	} else if _, ok := configs[cfgViewTransforms]; ok {
		return fmt.Errorf("%s is only for views (with %s)", cfgViewTransforms, cfgViewOf)
	}
	policy := configs[cfgIngestPolicy]
	if policy == "" {
		policy = "fail"
	}
	pol, err := chain.ParsePolicy(policy)
	if err != nil {
		return fmt.Errorf("%s: %w", cfgIngestPolicy, err)
	}
	if pol.Action == chain.DeadLetter && s.b.topic(pol.Topic) == nil {
		return fmt.Errorf("%s: dead-letter topic %q does not exist; create it first", cfgIngestPolicy, pol.Topic)
	}
	if spec := configs[cfgIngestTransforms]; spec != "" {
		if configs[cfgViewOf] != "" {
			return fmt.Errorf("a view stores nothing, so it cannot have %s", cfgIngestTransforms)
		}
		c, err := s.build(ctx, topic, spec, policy, []string{topic}, nil)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// withArticle puts "a" or "an" before a kind's name.
func withArticle(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

func kindName(k chain.Kind) string {
	if k == "" {
		return "non-SDK (Redpanda ABI)"
	}
	return string(k)
}

// ingestError is a produce-time chain failure, answered to the producer.
type ingestError struct {
	code int16
	msg  string
}

// ingest runs a topic's produce-time chain over one produced batch (already
// validated) and returns the batch to store (nil when nothing is left) and
// the dead-letter batch to write (nil when none).
func (s *smartModules) ingest(ctx context.Context, t *topicState, partition int32, records []byte) (out, dead []byte, _ *ingestError) {
	c, err := s.chainFor(ctx, "ingest", t.meta.Name, t.meta.Configs[cfgIngestTransforms], t.ingestPolicy(), []string{t.meta.Name})
	if err != nil {
		return nil, nil, &ingestError{code: kerr.PolicyViolation.Code, msg: fmt.Sprintf("topic %s: produce-time SmartModules do not load: %v", t.meta.Name, err)}
	}
	batch, err := engine.ParseBatch(records, maxDecompressedBatch)
	if err != nil {
		return nil, nil, &ingestError{code: kerr.InvalidRecord.Code, msg: err.Error()}
	}
	res, err := c.Process(ctx, batch)
	if err != nil {
		return nil, nil, &ingestError{code: kerr.InvalidRecord.Code, msg: fmt.Sprintf("topic %s: produce-time SmartModule refused the batch, nothing of it was stored: %v", t.meta.Name, err)}
	}
	if len(res.DeadLetters) > 0 {
		// The input records were never stored, so their offset header is
		// -1; their timestamps are kept.
		recs := make([]protocol.Record, len(res.DeadLetters))
		for i, dl := range res.DeadLetters {
			recs[i] = chain.DeadLetterRecord(batch.Records[dl.Input], dl, t.meta.Name, partition, -1)
		}
		dh := protocol.BatchHeader{BaseTimestamp: batch.Header.BaseTimestamp, MaxTimestamp: batch.Header.MaxTimestamp, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
		if dead, err = protocol.BuildBatch(dh, recs, protocol.CodecNone); err != nil {
			return nil, nil, &ingestError{code: kerr.InvalidRecord.Code, msg: err.Error()}
		}
	}
	recs := make([]protocol.Record, len(res.Outputs))
	for i, o := range res.Outputs {
		recs[i] = o.Record
	}
	h := batch.Header
	if len(recs) == 0 {
		if h.ProducerID < 0 {
			return nil, dead, nil
		}
		empty, err := protocol.BuildSparseBatch(h, nil, protocol.CodecNone, -1)
		if err != nil {
			return nil, nil, &ingestError{code: kerr.InvalidRecord.Code, msg: err.Error()}
		}
		return empty, dead, nil
	}
	if !h.LogAppendTime() { // a LogAppendTime batch's max timestamp is the append time
		h.MaxTimestamp = h.BaseTimestamp
		for _, r := range recs {
			h.MaxTimestamp = max(h.MaxTimestamp, h.BaseTimestamp+r.TimestampDelta)
		}
	}
	out, err = protocol.BuildBatch(h, recs, h.Compression())
	if err != nil {
		return nil, nil, &ingestError{code: kerr.InvalidRecord.Code, msg: fmt.Sprintf("topic %s: SmartModule output: %v", t.meta.Name, err)}
	}
	return out, dead, nil
}

// viewBatches runs a view's chain over the batches read from its source and
// returns what the consumer gets, and how many of those bytes are in
// batches that hold records. Each batch that keeps records keeps its base
// offset, codec and last offset delta, with the records that came out at
// their input's offset. Batches whose records were all filtered out are
// dropped (the next batch's base offset tells the consumer where to go on),
// unless nothing else is left: then one empty batch spanning them (as
// compaction leaves them) moves the consumer past. So a response never
// holds an empty batch after a batch with records, nor two empty batches:
// segmentio/kafka-go v0.4.51 panics on the one and stalls on the other,
// while it reads a response of one empty batch, as Kafka's compacted
// segments give it.
func (s *smartModules) viewBatches(ctx context.Context, t *topicState, recs []byte) ([]byte, int, error) {
	src := t.meta.Configs[cfgViewOf]
	c, err := s.chainFor(ctx, "view", t.meta.Name, t.meta.Configs[cfgViewTransforms], "fail", []string{t.meta.Name})
	if err != nil {
		return nil, 0, err
	}
	out := make([]byte, 0, len(recs))
	withRecords := 0
	var gap *protocol.BatchHeader // the filtered run since the last batch out
	var gapEnd int64
	for len(recs) > 0 {
		h, err := protocol.ParseBatchHeader(recs)
		if err != nil || h.TotalSize() > len(recs) {
			break // a partial batch at the end of a size-limited read
		}
		raw := recs[:h.TotalSize()]
		recs = recs[h.TotalSize():]
		if h.Control() {
			out = append(out, raw...)
			gap = nil
			continue
		}
		batch, err := engine.ParseBatch(raw, maxDecompressedBatch)
		if err != nil {
			return nil, 0, fmt.Errorf("view %s: batch at offset %d of %s: %w", t.meta.Name, h.BaseOffset, src, err)
		}
		res, err := c.Process(ctx, batch)
		if err != nil {
			return nil, 0, fmt.Errorf("view %s: %w", t.meta.Name, err)
		}
		kept := make([]protocol.Record, 0, len(res.Outputs))
		for _, o := range res.Outputs {
			if o.Input < 0 {
				continue // written before reading a record: it has no source offset
			}
			r := o.Record
			r.OffsetDelta = batch.Records[o.Input].OffsetDelta
			r.TimestampDelta = batch.Records[o.Input].TimestampDelta
			kept = append(kept, r)
		}
		if len(kept) == 0 {
			if gap == nil {
				hh := h
				gap = &hh
			}
			gapEnd = h.BaseOffset + int64(h.LastOffsetDelta)
			continue
		}
		gap = nil
		b, err := protocol.BuildSparseBatch(h, kept, h.Compression(), h.LastOffsetDelta)
		if err != nil {
			return nil, 0, fmt.Errorf("view %s: %w", t.meta.Name, err)
		}
		out = append(out, b...)
		withRecords += len(b)
	}
	if gap != nil && len(out) == 0 && gapEnd-gap.BaseOffset <= math.MaxInt32 {
		b, err := protocol.BuildSparseBatch(*gap, nil, protocol.CodecNone, int32(gapEnd-gap.BaseOffset))
		if err != nil {
			return nil, 0, fmt.Errorf("view %s: %w", t.meta.Name, err)
		}
		out = append(out, b...)
	}
	return out, withRecords, nil
}

// ingestPolicy is the topic's produce-time error policy.
func (t *topicState) ingestPolicy() string {
	if p := t.meta.Configs[cfgIngestPolicy]; p != "" {
		return p
	}
	return "fail"
}

// mirrorPartition is the partition of t that records from partition n of
// another topic go to (dead letters, a deployment's outputs): the same
// number, modulo t's partition count, so per-partition order is kept. It is
// nil when t is nil, has no partitions or that one is not open here.
func (t *topicState) mirrorPartition(n int32) (*raftlog.Partition, int32) {
	if t == nil || len(t.parts) == 0 {
		return nil, n
	}
	i := n % int32(len(t.parts))
	return t.parts[i], i
}

// isView reports whether the topic is a read-time view.
func (t *topicState) isView() bool { return t.meta.Configs[cfgViewOf] != "" }

// moduleHash is the hex SHA-256 of a module's bytes.
func moduleHash(wasm []byte) string {
	h := sha256.Sum256(wasm)
	return hex.EncodeToString(h[:])
}

// describeModule loads a module (compiling it into the cache, and
// checking that it speaks the transform ABI) and probes its kind, for
// `skiff smartmodule create`. A module whose probe fails without
// parameters is stored with an unknown kind.
func (s *smartModules) describeModule(ctx context.Context, name string, wasm []byte) (string, error) {
	eng, err := s.engine()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := eng.Load(ctx, name, wasm)
	if err != nil {
		return "", err // not WebAssembly, or not a transform
	}
	defer m.Close(ctx)
	k, err := chain.Describe(ctx, eng, name, wasm)
	if err != nil {
		// Most likely a module that needs its parameters to start; its
		// kind is learned when a chain runs it with them.
		s.b.log.Info("SmartModule kind unknown until it runs with its parameters", "module", name, "probe", err)
		return "", nil
	}
	return string(k), nil
}
