package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeGroup is `skiff consume TOPIC --group G`: it reads as a member of
// G, from the group's committed offsets (where there are none, from where
// -B or --offset say, else the end), and commits the offsets of the records
// it printed, once they are written out: every 5 s, when partitions move to
// another member, and on exit. With --max, the records fetched past the
// last one printed are not committed, so the next run starts right after it.
//
// With -d it exits once every partition it holds reached the end offset
// listed when the command started.
func consumeGroup(ctx context.Context, brokers string, o consumeOptions, stdout, stderr io.Writer) int {
	ends, err := listGroupEnds(ctx, brokers, o)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return failGroup(stderr, "consume", err, o.group, o.topic)
	}
	defer ends.adm.Close()
	opts := append(seedOpts(brokers),
		kgo.ClientID("skiff-consume"), kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topic), kgo.ConsumeStartOffset(startOffset(o)),
		kgo.AutoCommitMarks(), kgo.OnPartitionsAssigned(ends.assigned), kgo.OnPartitionsRevoked(ends.revoked))
	if o.toEnd {
		opts = append(opts, kgo.KeepControlRecords())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return failGroup(stderr, "consume", err, o.group, o.topic)
	}
	defer cl.Close() // leaves the group
	code := pollGroup(ctx, cl, o, ends, stdout, stderr)
	cctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		fmt.Fprintf(stderr, "skiff consume: could not commit the offsets of group %s, so the last records printed will be read again: %s\n",
			o.group, explainGroup(err, o.group, o.topic))
		return 1
	}
	return code
}

// pollGroup prints records until ctx is done, --max is reached, or with -d
// every partition held reached its end. It marks what it printed for commit.
func pollGroup(ctx context.Context, cl *kgo.Client, o consumeOptions, ends *groupEnds, stdout, stderr io.Writer) int {
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	printed := 0
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.toEnd {
			// Wake up to notice an assignment that has nothing to read.
			pctx, cancel = context.WithTimeout(ctx, 250*time.Millisecond)
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return 0
		}
		for _, fe := range fetches.Errors() {
			var dataLoss *kgo.ErrDataLoss
			switch {
			case errors.Is(fe.Err, context.DeadlineExceeded), errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, kgo.ErrClientClosed):
			case errors.As(fe.Err, &dataLoss):
				fmt.Fprintf(stderr, "skiff consume: warning: %v\n", fe.Err)
			default:
				return failGroup(stderr, "consume", fmt.Errorf("partition %d: %w", fe.Partition, fe.Err), o.group, o.topic)
			}
		}
		var taken []*kgo.Record
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done || !ends.take(o, r) {
				return
			}
			taken = append(taken, r)
			if !r.Attrs.IsControl() {
				writeRecord(out, o.format, r)
				printed++
				done = o.max > 0 && printed >= o.max
			}
		})
		if err := out.Flush(); err != nil {
			return fail(stderr, "consume", fmt.Errorf("write output: %w", err), o.topic, "")
		}
		cl.MarkCommitRecords(taken...)
		reached, err := ends.reached()
		if err != nil {
			return failGroup(stderr, "consume", fmt.Errorf("fetch the committed offsets of group %s: %w", o.group, err), o.group, o.topic)
		}
		if done || o.toEnd && reached {
			return 0
		}
	}
}

// startOffset is where a partition without a committed offset starts.
func startOffset(o consumeOptions) kgo.Offset {
	switch {
	case o.offsetSet && o.offset < 0:
		return kgo.NewOffset().AtEnd().Relative(o.offset)
	case o.offsetSet:
		return kgo.NewOffset().At(o.offset)
	case o.fromBeginning:
		return kgo.NewOffset().AtStart()
	}
	return kgo.NewOffset().AtEnd()
}

// groupEnds tracks, for -d, the partitions this member holds that have not
// reached the end offsets listed at start. Its callbacks also commit the
// printed records' offsets before partitions move to another member.
type groupEnds struct {
	adm    *kadm.Client
	group  string
	o      consumeOptions
	starts map[int32]int64 // log start offsets listed at start
	ends   map[int32]int64 // end offsets listed at start

	mu       sync.Mutex
	joined   bool            // an assignment has arrived
	left     map[int32]int64 // held partitions not at their end → end
	fetchErr error
}

// listGroupEnds checks that the topic exists and, for -d, lists where its
// partitions start and end.
func listGroupEnds(ctx context.Context, brokers string, o consumeOptions) (*groupEnds, error) {
	adm, err := connectAdmin(ctx, brokers)
	if err != nil {
		return nil, err
	}
	e := &groupEnds{adm: adm, group: o.group, o: o, starts: map[int32]int64{}, ends: map[int32]int64{}, left: map[int32]int64{}}
	for _, l := range []struct {
		fn  func(context.Context, ...string) (kadm.ListedOffsets, error)
		out map[int32]int64
	}{{adm.ListEndOffsets, e.ends}, {adm.ListStartOffsets, e.starts}} {
		listed, err := l.fn(ctx, o.topic)
		if err == nil {
			err = listed.Error()
		}
		if err == nil && len(listed[o.topic]) == 0 {
			err = kerr.UnknownTopicOrPartition
		}
		if err != nil {
			adm.Close()
			return nil, err
		}
		for p, lo := range listed[o.topic] {
			l.out[p] = lo.Offset
		}
	}
	return e, nil
}

// assigned notes newly held partitions. Each starts at the group's
// committed offset (what its previous holder committed before letting go),
// or where the flags say, as listed at start; that start is committed at
// once, as Kafka's consumers commit their positions, so records produced
// while no member runs are read by the next one rather than skipped. For
// -d, a partition whose start is before its end is left to read.
func (e *groupEnds) assigned(ctx context.Context, cl *kgo.Client, added map[string][]int32) {
	ps := added[e.o.topic]
	if len(ps) == 0 {
		e.mu.Lock()
		e.joined = true
		e.mu.Unlock()
		return
	}
	committed, err := e.adm.FetchOffsets(ctx, e.group)
	fresh := map[int32]kgo.EpochOffset{}
	e.mu.Lock()
	e.joined = true
	if err != nil {
		e.fetchErr = err
		e.mu.Unlock()
		return
	}
	for _, p := range ps {
		pos := e.flagStart(p)
		if c, ok := committed.Lookup(e.o.topic, p); ok && c.Err == nil && c.At >= 0 {
			pos = c.At
		} else if _, listed := e.ends[p]; listed {
			fresh[p] = kgo.EpochOffset{Epoch: -1, Offset: pos}
		}
		if end, ok := e.ends[p]; e.o.toEnd && ok && pos < end {
			e.left[p] = end
		}
	}
	e.mu.Unlock()
	if len(fresh) > 0 {
		// Best effort: if it fails, kgo starts at ConsumeStartOffset.
		cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{e.o.topic: fresh}, nil)
	}
}

// revoked commits what was printed from partitions about to move (what
// kgo's default callback does), and forgets them.
func (e *groupEnds) revoked(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	cl.CommitMarkedOffsets(ctx) // best effort: failing here means the new holder re-reads
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range lost[e.o.topic] {
		delete(e.left, p)
	}
}

// flagStart is where -B / --offset (or the default, the end) start
// partition p, within the offsets listed at start.
func (e *groupEnds) flagStart(p int32) int64 {
	start, end := e.starts[p], e.ends[p]
	switch {
	case e.o.offsetSet:
		pos := e.o.offset
		if pos < 0 {
			pos += end
		}
		return min(max(pos, start), end)
	case e.o.fromBeginning:
		return start
	}
	return end
}

// take reports whether r is to be handled; with -d only records below the
// end of a partition still to read are, and reaching it retires it.
func (e *groupEnds) take(o consumeOptions, r *kgo.Record) bool {
	if !o.toEnd {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	end, open := e.left[r.Partition]
	if !open || r.Offset >= end {
		return false
	}
	if r.Offset >= end-1 {
		delete(e.left, r.Partition)
	}
	return true
}

// reached reports whether this member holds an assignment and read every
// held partition to its end; an error if -d could not learn where a newly
// held partition starts.
func (e *groupEnds) reached() (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.joined && len(e.left) == 0, e.fetchErr
}
