package raftlog

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/skiffstream/skiff/protocol"
)

func TestRaftlogAppendRead(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	p := openTestPartition(t, s, 7)
	defer p.Close()
	var want int64
	for i := range 10 {
		r := mustAppend(t, p, testBatch(t, 3, 50, -1, -1, -1))
		if r.BaseOffset != want {
			t.Fatalf("batch %d: base offset %d, want %d", i, r.BaseOffset, want)
		}
		want += 3
	}
	if ls, hw := p.Offsets(); ls != 0 || hw != 30 {
		t.Fatalf("offsets = %d,%d want 0,30", ls, hw)
	}
	hs := readAll(t, p)
	if len(hs) != 10 {
		t.Fatalf("read %d batches, want 10", len(hs))
	}
	for i, h := range hs {
		if h.BaseOffset != int64(3*i) || h.PartitionLeaderEpoch != p.LeaderEpoch() {
			t.Fatalf("batch %d: base %d epoch %d", i, h.BaseOffset, h.PartitionLeaderEpoch)
		}
	}
	// A fetch from the middle of a batch starts at that batch.
	buf, err := p.Read(4, ReadOptions{MaxBytes: 1, MinOne: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hs, _ := validate(buf); len(hs) != 1 || hs[0].BaseOffset != 3 {
		t.Fatalf("read at 4: %+v", hs)
	}
	// MaxBytes without MinOne returns nothing when the batch does not fit.
	if buf, _ := p.Read(0, ReadOptions{MaxBytes: 10}, nil); len(buf) != 0 {
		t.Fatalf("read %d bytes past MaxBytes", len(buf))
	}
	if _, err := p.Read(31, ReadOptions{MaxBytes: 100}, nil); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
}

func TestRaftlogIdempotentProducer(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	p := openTestPartition(t, s, 1)
	defer p.Close()
	r0 := mustAppend(t, p, testBatch(t, 2, 10, 42, 0, 0))
	mustAppend(t, p, testBatch(t, 2, 10, 42, 0, 2))
	// A retried batch is answered with its first offset and not stored again.
	dup := p.Append(cmdBuf(testBatch(t, 2, 10, 42, 0, 0))).Wait()
	if dup.Err != nil || dup.BaseOffset != r0.BaseOffset {
		t.Fatalf("duplicate: %+v", dup)
	}
	if _, hw := p.Offsets(); hw != 4 {
		t.Fatalf("hw %d after duplicate, want 4", hw)
	}
	if r := p.Append(cmdBuf(testBatch(t, 1, 10, 42, 0, 9))).Wait(); !errors.Is(r.Err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("gap: %v", r.Err)
	}
	if r := p.Append(cmdBuf(testBatch(t, 1, 10, 42, 1, 5))).Wait(); !errors.Is(r.Err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("new epoch nonzero seq: %v", r.Err)
	}
	mustAppend(t, p, testBatch(t, 1, 10, 42, 1, 0)) // epoch bump
	if r := p.Append(cmdBuf(testBatch(t, 1, 10, 42, 0, 4))).Wait(); !errors.Is(r.Err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced epoch: %v", r.Err)
	}
}

func TestRaftlogRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	p := openTestPartition(t, s, 3)
	for range 5 {
		mustAppend(t, p, testBatch(t, 4, 100, 7, 0, 0))
		break
	}
	for i := 1; i < 5; i++ {
		mustAppend(t, p, testBatch(t, 4, 100, 7, 0, int32(4*i)))
	}
	if err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, p, testBatch(t, 4, 100, 7, 0, 20))
	p.Close()
	s.Close()

	s = openTestStore(t, nil, dir)
	defer s.Close()
	p = openTestPartition(t, s, 3)
	defer p.Close()
	if _, hw := p.Offsets(); hw != 24 {
		t.Fatalf("hw after restart %d, want 24", hw)
	}
	if hs := readAll(t, p); len(hs) != 6 {
		t.Fatalf("%d batches after restart", len(hs))
	}
	// Producer state survived: the next sequence is accepted, a replay is a duplicate.
	if r := p.Append(cmdBuf(testBatch(t, 4, 100, 7, 0, 20))).Wait(); r.Err != nil || r.BaseOffset != 20 {
		t.Fatalf("duplicate after restart: %+v", r)
	}
	mustAppend(t, p, testBatch(t, 1, 100, 7, 0, 24))
}

// TestRaftlogCrashLosesNoAcknowledged crashes the filesystem (unsynced data is
// lost, as on power loss) after acknowledged appends and checks that every
// acknowledged batch is there after recovery, at the same offsets.
func TestRaftlogCrashLosesNoAcknowledged(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openTestStore(t, mem, "/data")
	p := openTestPartition(t, s, 5)
	const n = 50
	for i := range n {
		r := mustAppend(t, p, testBatch(t, 2, 200, -1, -1, -1))
		if r.BaseOffset != int64(2*i) {
			t.Fatalf("base %d", r.BaseOffset)
		}
		if i == 20 {
			if err := p.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(1, 2))})
	p.Close()
	s.Close()

	s = openTestStore(t, crashed, "/data")
	defer s.Close()
	p = openTestPartition(t, s, 5)
	defer p.Close()
	// Raft re-applies the synced tail; wait for the FSM to catch up.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, hw := p.Offsets(); hw >= 2*n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	hs := readAll(t, p)
	if len(hs) != n {
		t.Fatalf("after crash: %d batches, want %d", len(hs), n)
	}
	for i, h := range hs {
		if h.BaseOffset != int64(2*i) {
			t.Fatalf("after crash batch %d at %d", i, h.BaseOffset)
		}
	}
}

func TestRaftlogTruncateAndRetention(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	p := openTestPartition(t, s, 9)
	defer p.Close()
	for range 10 {
		mustAppend(t, p, testBatch(t, 10, 100, -1, -1, -1))
	}
	if r := p.Truncate(25); r.Err != nil || r.LogStartOffset != 25 {
		t.Fatalf("truncate: %+v", r)
	}
	if _, err := p.Read(10, ReadOptions{MaxBytes: 1 << 20}, nil); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below log start: %v", err)
	}
	hs := readAll(t, p)
	if len(hs) != 8 || hs[0].BaseOffset != 20 {
		t.Fatalf("after truncate: %d batches from %d", len(hs), hs[0].BaseOffset)
	}
	// retention.bytes of 3 batches keeps the newest three.
	size := p.Size() / 8
	if off := p.RetentionOffset(-1, 3*size, time.Now()); off != 70 {
		t.Fatalf("retention.bytes offset %d, want 70", off)
	}
	// retention.ms: everything is older than a future cutoff.
	if off := p.RetentionOffset(0, -1, time.Now().Add(time.Hour)); off != 100 {
		t.Fatalf("retention.ms offset %d, want 100", off)
	}
	if err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	first := p.log.first.Load()
	if err := p.Reclaim(); err != nil {
		t.Fatal(err)
	}
	if p.log.first.Load() <= first {
		t.Fatalf("reclaim did not delete raft entries (first %d)", first)
	}
	if hs := readAll(t, p); len(hs) != 8 {
		t.Fatalf("reclaim removed retained batches: %d left", len(hs))
	}
}

func TestRaftlogOffsetForTimestamp(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	p := openTestPartition(t, s, 2)
	defer p.Close()
	for range 3 {
		mustAppend(t, p, testBatch(t, 5, 10, -1, -1, -1))
	}
	hs := readAll(t, p)
	ts := hs[1].BaseTimestamp + 2 // third record of the second batch
	off, gotTs, err := p.OffsetForTimestamp(ts)
	if err != nil || off != 7 || gotTs != ts {
		t.Fatalf("by timestamp: %d %d %v", off, gotTs, err)
	}
	if off, _, _ := p.OffsetForTimestamp(hs[2].MaxTimestamp + 1000); off != -1 {
		t.Fatalf("future timestamp: %d", off)
	}
	off, maxTs, _ := p.MaxTimestampOffset()
	if maxTs != hs[2].MaxTimestamp {
		t.Fatalf("max timestamp %d at %d", maxTs, off)
	}
}

func TestRaftlogController(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	c, err := OpenController(s, GroupOptions{NodeID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitLeader(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	tm, err := c.CreateTopic("a", 3, 1, map[string]string{"retention.ms": "1000"})
	if err != nil || len(tm.Groups) != 3 {
		t.Fatalf("create: %v %+v", err, tm)
	}
	if _, err := c.CreateTopic("a", 1, 1, nil); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := c.CreatePartitions("a", 5); err != nil {
		t.Fatal(err)
	}
	pid1, _ := c.AllocateProducerID()
	pid2, _ := c.AllocateProducerID()
	if pid2 != pid1+1 {
		t.Fatalf("pids %d %d", pid1, pid2)
	}
	clusterID := c.Meta().ClusterID
	c.Close()
	s.Close()

	s = openTestStore(t, nil, dir)
	defer s.Close()
	c, err = OpenController(s, GroupOptions{NodeID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitLeader(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	tm, ok := c.Topic("a")
	if !ok || len(tm.Groups) != 5 || tm.Configs["retention.ms"] != "1000" || c.Meta().ClusterID != clusterID {
		t.Fatalf("after restart: %+v", tm)
	}
	if pid, _ := c.AllocateProducerID(); pid <= pid2 {
		t.Fatalf("pid %d reused after restart", pid)
	}
}

// TestRaftlogAppendTransformed: a produce-time SmartModule stores fewer (or
// no) records than the producer sent; the idempotent producer's sequences
// still count what it sent.
func TestRaftlogAppendTransformed(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	p := openTestPartition(t, s, 1)
	defer p.Close()
	// The producer sent 5 records (seq 0-4); the chain kept 2.
	kept := testBatch(t, 2, 10, 42, 0, 0)
	r := p.AppendTransformed(cmdBuf(kept), 4).Wait()
	if r.Err != nil || r.BaseOffset != 0 {
		t.Fatalf("first: %+v", r)
	}
	// A retry of that batch is a duplicate, answered with its offset.
	if d := p.AppendTransformed(cmdBuf(kept), 4).Wait(); d.Err != nil || d.BaseOffset != 0 {
		t.Fatalf("duplicate: %+v", d)
	}
	// Next the producer sends seq 5-7; the chain drops all three.
	h, _ := protocol.ParseBatchHeader(testBatch(t, 1, 10, 42, 0, 5))
	empty, err := protocol.BuildSparseBatch(h, nil, protocol.CodecNone, -1)
	if err != nil {
		t.Fatal(err)
	}
	if e := p.AppendTransformed(empty, 2).Wait(); e.Err != nil || e.BaseOffset != -1 {
		t.Fatalf("emptied batch: %+v", e)
	}
	if d := p.AppendTransformed(cmdBuf(empty), 2).Wait(); d.Err != nil || d.BaseOffset != -1 {
		t.Fatalf("emptied duplicate: %+v", d)
	}
	// Then seq 8 follows; seq 6 would be out of order.
	if r := p.Append(cmdBuf(testBatch(t, 1, 10, 42, 0, 6))).Wait(); !errors.Is(r.Err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("seq 6: %v", r.Err)
	}
	if r := mustAppend(t, p, testBatch(t, 1, 10, 42, 0, 8)); r.BaseOffset != 2 {
		t.Fatalf("seq 8 at %d, want 2", r.BaseOffset)
	}
	if _, hw := p.Offsets(); hw != 3 {
		t.Fatalf("hw %d, want 3: the emptied batch took no offsets", hw)
	}
	if hs := readAll(t, p); len(hs) != 2 {
		t.Fatalf("%d batches readable, want 2", len(hs))
	}
}

// TestReadAlloc: with ReadOptions.Alloc a read lands in the buffer it
// gives, sized for every batch at once, and returns what a read without it
// returns.
func TestReadAlloc(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	p := openTestPartition(t, s, 1)
	for range 5 {
		if r := p.Append(cmdBuf(testBatch(t, 3, 100, -1, -1, -1))).Wait(); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	want, err := p.Read(0, ReadOptions{MaxBytes: 1 << 20}, nil)
	if err != nil || len(want) == 0 {
		t.Fatal(len(want), err)
	}
	calls := 0
	var given []byte
	got, err := p.Read(0, ReadOptions{MaxBytes: 1 << 20, Alloc: func(n int) []byte {
		calls++
		given = make([]byte, 0, n)
		return given
	}}, []byte("prefix"))
	if err != nil || calls != 1 || string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) || &got[0] != &given[:1][0] {
		t.Fatalf("%d Alloc calls, %d bytes (want %d), same buffer %v, %v", calls, len(got)-6, len(want), calls == 1 && &got[0] == &given[:1][0], err)
	}
}
