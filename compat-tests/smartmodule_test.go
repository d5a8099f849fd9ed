package compat_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The view scenario: every client reads SmartModule topics as it reads Kafka's.
//
// A read-time view V of a topic SRC (topic configs skiff.view.of and
// skiff.view.transforms, here the built-in regex-filter keeping values that start
// with "keep") has SRC's partitions and offsets; its Fetch runs the filter over SRC's
// batches. So V has gaps in its offsets, and a batch whose records were all filtered
// out comes back as a record batch with no records whose lastOffsetDelta still covers
// the batch, as Kafka's log compaction leaves them. For each client (TestCompatView*,
// the clients in smartmodule_clients_test.go and smartmodule_external_test.go):
//
//  1. The client produces to SRC (2 partitions), each send one produce request and one
//     batch, each waiting for the one before: single-record batches (a run of them
//     without a match, and a filtered tail), multi-record batches with and without
//     matches, and compressed ones in gzip, snappy, lz4 and zstd. Its acknowledged
//     offsets must be where franz-go finds the records. A raw read of SRC checks the
//     batches have that shape, and a raw read of V that each view batch has its
//     source's offsets and codec and holds the matches at their source offsets.
//  2. The client consumes V from the beginning and must get exactly the matches, each
//     at its source offset, and reach the end: its Fetch position (seen by a proxy,
//     smartmodule_proxy_test.go, the same way for every client) and the position the
//     client reports, where it reports one, must reach SRC's high watermark.
//  3. The client produces more to SRC while its consumer runs: the consumer, long
//     polling through the view, must get the new matches and reach the new end.
//  4. A topic with a produce-time filter (skiff.ingest.transforms) stores only the
//     matches, at dense offsets; the client produces to it and consumes it.
//
// Steps 1-3 and step 4 are the subtests "view" and "ingest". A client that cannot read
// batches without records as Apache Kafka's compaction returns them either has a
// clientBug, checked on Kafka by TestReferenceEmptyBatches (smartmodule_reference_test.go):
// where it fails that way the view subtest is skipped, naming the bug; any other
// failure fails the test.

const (
	viewPartitions = 2
	viewFilter     = "transforms:\n  - uses: regex-filter\n    with:\n      regex: \"^keep\"\n"
	viewFiller     = "skiff-view;skiff-view;skiff-view;skiff-view;skiff-view;skiff-view;skiff-view;skiff-view;"
	viewStepWait   = 60 * time.Second // each wait for a client to read or reach the end
)

var viewCodecs = []string{"gzip", "snappy", "lz4", "zstd"}

// viewSend is one produce: records for one partition in one codec, which the client
// sends together so that they form one batch. Values are "keep-..." or "drop-..."
// then "|" and a compressible filler; the key is the value up to "|".
type viewSend struct {
	Partition int32
	Codec     string
	Values    []string
}

// viewClient is one Kafka client library as the view scenario drives it.
type viewClient struct {
	name string
	// produce sends each viewSend as one produce request, in order, each after the
	// one before was acknowledged, and returns the records as acknowledged (partition
	// and offset), or nil when the client does not report offsets.
	produce func(ctx context.Context, t *testing.T, addr, topic string, sends []viewSend) ([]record, error)
	// consume starts a consumer of every partition of topic from the beginning
	// (auto.offset.reset=earliest where it has one) that hands what it reads to
	// reads until stop is called; stop reports an error the consumer ended with.
	consume func(t *testing.T, addr, topic string, reads *viewReads) (stop func() error, err error)
	// bug, when not nil, is how the client fails on batches without records, on
	// Apache Kafka too (TestReferenceEmptyBatches): the scenario skips, naming it,
	// where the client fails that way.
	bug *clientBug
}

// clientBug is a client's bug with record batches that hold no records.
type clientBug struct {
	what string // the bug, in which version, and what Kafka does
	// crash: on a Fetch response with a batch without records after another batch
	// (empty-between), the consumer ends with this in its output.
	crash string
	// stall: the client does not move past a Fetch response whose batches all hold no
	// records (empty-segment; a view's filtered tail): it fetches the same offset again.
	stall bool
	// viewStall: the client reads Kafka's empty-segment shape but does not move past
	// a view's filtered tail (a response of one empty batch after it read records).
	viewStall bool
}

// on returns what the bug is when it shows on the shape of TestReferenceEmptyBatches.
func (b *clientBug) on(shape string) string {
	if b != nil && (b.crash != "" && shape == "empty-between" || b.stall && shape == "empty-segment") {
		return b.what
	}
	return ""
}

// matches reports whether a failure to read is the bug's.
func (b *clientBug) matches(err error) bool {
	return b != nil && (b.crash != "" && strings.Contains(err.Error(), b.crash) || b.stall && errors.Is(err, errNoRecords))
}

// errNoRecords is a consumer that read nothing more for as long as a test waited.
var errNoRecords = errors.New("no more records")

// viewReads collects what a consumer under test read, from any goroutine.
type viewReads struct {
	mu        sync.Mutex
	recs      []record
	positions map[int32]int64 // the position the client itself reported last
	notes     []string
	exited    bool  // a consumer process ended
	exitErr   error // and how
	// output returns the last lines a consumer process printed besides the
	// protocol, emit prints each event (in TestViewClientProcess).
	output func(n int) string
	emit   func(line string)
}

func newViewReads() *viewReads { return &viewReads{positions: map[int32]int64{}} }

func (r *viewReads) add(rec record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	if r.emit != nil {
		r.emit(fmt.Sprintf("RECORD %d %d %s %s", rec.Partition, rec.Offset, rec.Key, rec.Value))
	}
}

// position records where the client says it is: the offset of the next record it
// will fetch (Java's position(), librdkafka's partition EOF).
func (r *viewReads) position(p int32, offset int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.positions[p] = offset
	if r.emit != nil {
		r.emit(fmt.Sprintf("POSITION %d %d", p, offset))
	}
}

// note records an error the client reported and carried on from.
func (r *viewReads) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if len(r.notes) < 100 {
		r.notes = append(r.notes, msg)
	}
	if r.emit != nil {
		r.emit("NOTE " + strings.ReplaceAll(msg, "\n", " "))
	}
}

// exit records that a consumer process ended, before it was asked to.
func (r *viewReads) exit(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exited, r.exitErr = true, err
}

func (r *viewReads) snapshot() ([]record, map[int32]int64, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pos := make(map[int32]int64, len(r.positions))
	for p, o := range r.positions {
		pos[p] = o
	}
	return append([]record(nil), r.recs...), pos, append([]string(nil), r.notes...)
}

// ended says how a consumer process ended, with its last lines, or "" while it runs.
func (r *viewReads) ended() string {
	r.mu.Lock()
	exited, err := r.exited, r.exitErr
	r.mu.Unlock()
	if !exited {
		return ""
	}
	return fmt.Sprintf("the consumer process exited (%v); its last lines:\n%s", err, r.output(viewProcTail))
}

// viewShape is the records of one send per partition: true for a match.
type viewShape struct {
	codec string
	keep  []bool
}

func single(keep bool) viewShape { return viewShape{"none", []bool{keep}} }

// mixed is n records, every other one a match; none is n records without a match.
func mixed(codec string, n int) viewShape {
	s := viewShape{codec, make([]bool, n)}
	for i := range s.keep {
		s.keep[i] = i%2 == 0
	}
	return s
}

func none(codec string, n int) viewShape { return viewShape{codec, make([]bool, n)} }

// viewBasePlan is what SRC holds before the consumer starts, about a quarter of it
// matches, per partition: 24 single-record batches (5 matches, then a run of 9
// without), four uncompressed batches of 8 (two without a match), a batch with
// matches and one without in each codec, and a tail of 8 single-record batches
// without a match.
func viewBasePlan() []viewSend {
	var shapes []viewShape
	for i := range 24 {
		shapes = append(shapes, single(i%3 == 0 && i < 15))
	}
	shapes = append(shapes, mixed("none", 8), none("none", 8), mixed("none", 8), none("none", 8))
	for _, c := range viewCodecs {
		shapes = append(shapes, mixed(c, 8), none(c, 8))
	}
	for range 8 {
		shapes = append(shapes, single(false))
	}
	return viewSends("base", shapes)
}

// viewLivePlan is produced while the consumer runs: a match between single-record
// batches without one, a compressed batch with matches and one without, and a tail
// without a match.
func viewLivePlan() []viewSend {
	shapes := []viewShape{single(false), single(false), single(true), single(false)}
	shapes = append(shapes, mixed("zstd", 6), none("lz4", 6))
	for range 4 {
		shapes = append(shapes, single(false))
	}
	return viewSends("live", shapes)
}

// viewIngestPlan goes to the topic with a produce-time filter.
func viewIngestPlan() []viewSend {
	var shapes []viewShape
	for i := range 6 {
		shapes = append(shapes, single(i%3 == 0))
	}
	shapes = append(shapes, mixed("none", 8), none("none", 8))
	for _, c := range viewCodecs {
		shapes = append(shapes, mixed(c, 6))
	}
	shapes = append(shapes, none("lz4", 6), single(false), single(false))
	return viewSends("ingest", shapes)
}

// viewSends makes one send per shape and partition, the partitions taking turns.
func viewSends(phase string, shapes []viewShape) []viewSend {
	var sends []viewSend
	seq := map[int32]int{}
	for _, sh := range shapes {
		for p := range int32(viewPartitions) {
			s := viewSend{Partition: p, Codec: sh.codec}
			for _, keep := range sh.keep {
				kind := "drop"
				if keep {
					kind = "keep"
				}
				s.Values = append(s.Values, fmt.Sprintf("%s-%s-p%d-%03d|%s", kind, phase, p, seq[p], viewFiller))
				seq[p]++
			}
			sends = append(sends, s)
		}
	}
	return sends
}

func viewKey(value string) string {
	k, _, _ := strings.Cut(value, "|")
	return k
}

func isMatch(value string) bool { return strings.HasPrefix(value, "keep") }

// viewRun is one run of the scenario.
type viewRun struct {
	t     *testing.T
	c     viewClient
	s     *harness.Server
	watch *fetchWatch
	cl    *kgo.Client // franz-go, to look at the broker independently of the client
	adm   *kadm.Client
	// stalls are where a client with the stall bug stopped before the end.
	stalls []string
}

// runViewScenario runs the scenario (see the top of this file) with one client: the
// view (steps 1-3) and the produce-time filter (step 4) as subtests of their own.
func runViewScenario(t *testing.T, c viewClient) {
	watch := startFetchWatch(t)
	s := harness.Start(t, harness.WithArgs("--advertise", watch.Addr())) // the last --advertise wins
	if s.Target() != "skiff" {
		t.Skipf("the %s target has no SmartModules", s.Target())
	}
	watch.forward(s.Addr())
	cl := newKgoClient(t, watch.Addr(), kgo.MetadataMinAge(10*time.Millisecond))
	run := viewRun{c: c, s: s, watch: watch, cl: cl, adm: kadm.NewClient(cl)}
	t.Run("view", func(t *testing.T) {
		r := run
		r.t = t
		r.view()
	})
	t.Run("ingest", func(t *testing.T) {
		r := run
		r.t = t
		r.ingest()
	})
}

// view: steps 1-3 of the scenario.
func (r *viewRun) view() {
	const src, view = "view-src", "view-keep"
	harness.CreateTopic(r.t, r.s.Addr(), src, viewPartitions)
	base := viewBasePlan()
	acks := r.produce(src, base)
	srcBatches := r.checkSource(src, base, acks)
	r.createTopic(view, -1, map[string]*string{"skiff.view.of": kadm.StringPtr(src), "skiff.view.transforms": kadm.StringPtr(viewFilter)})
	r.checkView(view, srcBatches)

	reads := newViewReads()
	stop := r.startConsumer(view, reads)
	r.waitRead(view, reads, matches(srcBatches), "the matches of the first produce")
	r.waitEnd(view, reads, endsOf(srcBatches), matches(srcBatches))

	live := viewLivePlan()
	acks = append(acks, r.produce(src, live)...)
	srcBatches = r.checkSource(src, append(base, live...), acks)
	r.waitRead(view, reads, matches(srcBatches), "the matches produced while it ran")
	r.waitEnd(view, reads, endsOf(srcBatches), matches(srcBatches))
	r.stopConsumer(view, reads, stop)
	if len(r.stalls) > 0 {
		r.t.Skipf("%s read every match, and stalled before the end of the view, its known bug: %s\nhere:\n  %s", r.c.name, r.c.bug.what, strings.Join(r.stalls, "\n  "))
	}
}

// ingest: step 4 of the scenario.
func (r *viewRun) ingest() {
	const ingest = "ingest-keep"
	r.createTopic(ingest, viewPartitions, map[string]*string{"skiff.ingest.transforms": kadm.StringPtr(viewFilter)})
	plan := viewIngestPlan()
	acks := r.produce(ingest, plan)
	stored := r.checkIngest(ingest, plan)
	r.logIngestAcks(acks, stored)
	reads := newViewReads()
	stop := r.startConsumer(ingest, reads)
	r.waitRead(ingest, reads, stored, "the records the produce-time filter kept")
	r.waitEnd(ingest, reads, r.endOffsets(ingest), stored)
	if len(r.stalls) > 0 {
		r.t.Errorf("%s stalled on the topic with a produce-time filter, whose batches all hold records", r.c.name)
	}
	r.stopConsumer(ingest, reads, stop)
}

// logIngestAcks says where the client was told its records went: a produce-time
// filter stores fewer records than were sent, so a client that counts offsets from the
// batch's base offset reports offsets that are not where its records are.
func (r *viewRun) logIngestAcks(acks, stored []record) {
	if acks == nil {
		return
	}
	at := map[string]int64{}
	for _, rec := range stored {
		at[rec.Value] = rec.Offset
	}
	kept, right, noOffset := 0, 0, 0
	for _, a := range acks {
		if a.Offset < 0 {
			noOffset++
		}
		if o, ok := at[a.Value]; ok {
			kept++
			if o == a.Offset {
				right++
			}
		}
	}
	r.t.Logf("%s acknowledgements from the topic with a produce-time filter: %d of its %d kept records at the offset they are stored at; %d of %d records acknowledged without an offset",
		r.c.name, right, kept, noOffset, len(acks))
}

// fail ends the test: skipped, naming the client's bug, when the consumer process
// crashed as its known bug says; failed otherwise.
func (r *viewRun) fail(reads *viewReads, format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if b := r.c.bug; b != nil && b.crash != "" && reads.output != nil && strings.Contains(reads.output(1000), b.crash) {
		r.t.Skipf("%s has a known bug: %s\nhere: %s", r.c.name, b.what, msg)
	}
	r.t.Fatal(msg)
}

// produce has the client send the plan to topic and returns its acknowledgements.
func (r *viewRun) produce(topic string, sends []viewSend) []record {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	start := time.Now()
	acks, err := r.c.produce(ctx, r.t, r.watch.Addr(), topic, sends)
	if err != nil {
		r.t.Fatalf("%s produce to %s: %v", r.c.name, topic, err)
	}
	n := 0
	for _, s := range sends {
		n += len(s.Values)
	}
	r.t.Logf("%s produced %d records in %d sends to %s (%v)", r.c.name, n, len(sends), topic, time.Since(start).Round(time.Millisecond))
	return acks
}

func (r *viewRun) startConsumer(topic string, reads *viewReads) func() error {
	r.t.Helper()
	stop, err := r.c.consume(r.t, r.watch.Addr(), topic, reads)
	if err != nil {
		r.t.Fatalf("%s consume %s: %v", r.c.name, topic, err)
	}
	stopped := false
	r.t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return func() error { stopped = true; return stop() }
}

func (r *viewRun) stopConsumer(topic string, reads *viewReads, stop func() error) {
	r.t.Helper()
	if err := stop(); err != nil {
		r.t.Errorf("%s consumer of %s ended with: %v", r.c.name, topic, err)
	}
	if _, _, notes := reads.snapshot(); len(notes) > 0 {
		r.t.Logf("%s consumer of %s reported %d errors it carried on from; the first: %s", r.c.name, topic, len(notes), notes[0])
	}
}

// waitRead waits until the consumer has read exactly want: per partition the same
// records at the same offsets, in order. Anything else it reads fails at once.
func (r *viewRun) waitRead(topic string, reads *viewReads, want []record, what string) {
	r.t.Helper()
	start := time.Now()
	deadline := start.Add(viewStepWait)
	for {
		got, _, notes := reads.snapshot()
		done, err := compareReads(want, got)
		if err != nil {
			r.fail(reads, "%s consuming %s: %v", r.c.name, topic, err)
		}
		if done {
			r.t.Logf("%s read %s (%d records) from %s in %v", r.c.name, what, len(want), topic, time.Since(start).Round(time.Millisecond))
			return
		}
		if end := reads.ended(); end != "" {
			r.fail(reads, "%s consuming %s, before it read %s: %s\n%s\nfetches: %s", r.c.name, topic, what, progress(want, got), end, r.describeFetches(topic))
		}
		if time.Now().After(deadline) {
			r.fail(reads, "%s consuming %s did not read %s within %v: %s\nfetches: %s\nerrors it reported: %q",
				r.c.name, topic, what, viewStepWait, progress(want, got), r.describeFetches(topic), first(notes, 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEnd waits until the consumer's Fetch position in every partition, and the
// position it reports where it reports one, is the partition's end offset.
func (r *viewRun) waitEnd(topic string, reads *viewReads, ends map[int32]int64, want []record) {
	r.t.Helper()
	id := r.topicID(topic)
	start := time.Now()
	deadline := start.Add(viewStepWait)
	for {
		var behind, stalled []string
		_, reported, _ := reads.snapshot()
		for p := range int32(viewPartitions) {
			at := r.watch.position(topic, id, p)
			switch {
			case at == ends[p]:
			case r.stalledAt(topic, id, p, at, ends[p], want):
				stalled = append(stalled, fmt.Sprintf("partition %d: fetches at %d, end %d, no records in between (%s)", p, at, ends[p], r.watch.describe(topic, id, p)))
			default:
				behind = append(behind, fmt.Sprintf("partition %d: fetches at %d, end %d (%s)", p, at, ends[p], r.watch.describe(topic, id, p)))
			}
			if at, ok := reported[p]; ok && at != ends[p] {
				behind = append(behind, fmt.Sprintf("partition %d: the client reports position %d, end %d", p, at, ends[p]))
			}
		}
		if len(behind) == 0 && len(stalled) > 0 {
			r.t.Logf("%s stalls before the end of %s, its known bug:\n  %s", r.c.name, topic, strings.Join(stalled, "\n  "))
			r.stalls = append(r.stalls, stalled...)
			return
		}
		if len(behind) == 0 {
			r.t.Logf("%s reached the end of %s, %v, in %v", r.c.name, topic, ends, time.Since(start).Round(time.Millisecond))
			return
		}
		if end := reads.ended(); end != "" {
			r.fail(reads, "%s consuming %s, before it reached the end:\n  %s\n%s", r.c.name, topic, strings.Join(behind, "\n  "), end)
		}
		if time.Now().After(deadline) {
			got, _, _ := reads.snapshot()
			r.fail(reads, "%s consuming %s did not reach the end within %v:\n  %s\nit read %d records",
				r.c.name, topic, viewStepWait, strings.Join(append(behind, stalled...), "\n  "), len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stalledAt reports whether a client with the stall bug is stuck fetching offset at of
// partition p: no record is left between at and the end (only batches without
// records), and it asked for at many times in a row.
func (r *viewRun) stalledAt(topic string, id [16]byte, p int32, at, end int64, want []record) bool {
	if r.c.bug == nil || !r.c.bug.stall && !r.c.bug.viewStall || at < 0 || at > end || r.watch.repeats(topic, id, p) < 20 {
		return false
	}
	for _, rec := range want {
		if rec.Partition == p && rec.Offset >= at {
			return false
		}
	}
	return true
}

func (r *viewRun) describeFetches(topic string) string {
	id := r.topicID(topic)
	var out []string
	for p := range int32(viewPartitions) {
		out = append(out, r.watch.describe(topic, id, p))
	}
	return strings.Join(out, "; ")
}

// compareReads reports whether got is exactly want (per partition), or an error
// when got has something want does not have at that place.
func compareReads(want, got []record) (bool, error) {
	w, g := byPartition(want), byPartition(got)
	done := true
	for p := range union(w, g) {
		wp, gp := w[p], g[p]
		for i, rec := range gp {
			switch {
			case i >= len(wp):
				return false, fmt.Errorf("partition %d: unexpected record %v after the %d expected", p, rec, len(wp))
			case rec.Offset != wp[i].Offset || rec.Value != wp[i].Value || rec.Key != wp[i].Key:
				return false, fmt.Errorf("partition %d, record %d:\n got  %v\n want %v", p, i, rec, wp[i])
			}
		}
		done = done && len(gp) == len(wp)
	}
	return done, nil
}

func progress(want, got []record) string {
	w, g := byPartition(want), byPartition(got)
	var out []string
	for p := range int32(viewPartitions) {
		s := fmt.Sprintf("partition %d: %d of %d records", p, len(g[p]), len(w[p]))
		if n := len(g[p]); n < len(w[p]) {
			s += fmt.Sprintf(", next %v", w[p][n])
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// createTopic creates topic with configs (partitions -1: the broker decides) and
// waits until metadata shows viewPartitions partitions with a leader.
func (r *viewRun) createTopic(topic string, partitions int32, configs map[string]*string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := r.adm.CreateTopic(ctx, partitions, -1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		r.t.Fatalf("create topic %s with configs %v: %v (%s)", topic, configKeys(configs), err, resp.ErrMessage)
	}
	waitFor(ctx, r.t, "topic "+topic+" in metadata", func() error {
		md, err := r.adm.Metadata(ctx, topic)
		if err != nil {
			return err
		}
		return describeOK(md.Topics[topic], viewPartitions, md.Controller)
	})
}

func configKeys(m map[string]*string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (r *viewRun) topicID(topic string) [16]byte {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	md, err := r.adm.Metadata(ctx, topic)
	if err != nil {
		r.t.Fatalf("metadata of %s: %v", topic, err)
	}
	return md.Topics[topic].ID
}

func (r *viewRun) endOffsets(topic string) map[int32]int64 {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ends, err := r.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		r.t.Fatalf("end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}
