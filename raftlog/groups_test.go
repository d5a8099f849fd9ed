package raftlog

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func openTestOffsets(t testing.TB, s *Store) *Offsets {
	t.Helper()
	o, err := OpenOffsets(s, GroupOptions{NodeID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.WaitLeader(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	return o
}

func mustWait(t testing.TB, f *OffsetsFuture) {
	t.Helper()
	if err := f.Wait(); err != nil {
		t.Fatal(err)
	}
}

func commitOf(topic string, p int32, off int64, meta string) OffsetCommit {
	return OffsetCommit{TopicPartition{topic, p}, Committed{Offset: off, LeaderEpoch: 3, Metadata: meta, CommitTime: 1700000000000}}
}

func TestRaftlogOffsetsCommitFetchDelete(t *testing.T) {
	s := openTestStore(t, nil, t.TempDir())
	defer s.Close()
	o := openTestOffsets(t, s)
	defer o.Close()

	mustWait(t, o.Commit("g1", []OffsetCommit{commitOf("a", 0, 10, "m0"), commitOf("a", 1, 11, ""), commitOf("b", 0, 5, "x")}))
	mustWait(t, o.Commit("g2", []OffsetCommit{commitOf("a", 0, 99, "")}))
	mustWait(t, o.Commit("g1", []OffsetCommit{commitOf("a", 0, 12, "m1")})) // overwrite

	if c, ok := o.Fetch("g1", TopicPartition{"a", 0}); !ok || c.Offset != 12 || c.Metadata != "m1" || c.LeaderEpoch != 3 {
		t.Fatalf("fetch g1 a-0: %+v %v", c, ok)
	}
	got := o.FetchMany("g1", []TopicPartition{{"a", 1}, {"zz", 0}}, nil)
	if got[0].Offset != 11 || got[1].Offset != -1 || got[1].LeaderEpoch != -1 {
		t.Fatalf("fetch many: %+v", got)
	}
	if n := len(o.GroupOffsets("g1")); n != 3 {
		t.Fatalf("g1 has %d offsets, want 3", n)
	}

	mustWait(t, o.DeleteOffsets("g1", []TopicPartition{{"a", 1}, {"nope", 3}}))
	if _, ok := o.Fetch("g1", TopicPartition{"a", 1}); ok {
		t.Fatal("deleted offset still there")
	}
	mustWait(t, o.DeleteTopic("a"))
	if all := o.GroupOffsets("g1"); len(all) != 1 || all[0].Topic != "b" {
		t.Fatalf("after topic delete g1 has %+v", all)
	}
	if o.HasOffsets("g2") {
		t.Fatal("g2 keeps offsets of a deleted topic")
	}

	meta := &GroupMeta{Group: "g1", ProtocolType: "consumer", Protocol: "range", Leader: "m-1", Generation: 4, StateTime: 42,
		Members: []GroupMember{{MemberID: "m-1", InstanceID: "i1", ClientID: "c", ClientHost: "/127.0.0.1",
			SessionTimeoutMs: 45000, RebalanceTimeoutMs: 60000, Subscription: []byte{1, 2}, Assignment: []byte{3}}}}
	mustWait(t, o.StoreGroup(meta))
	gs := o.Groups()
	if len(gs) != 1 || !reflect.DeepEqual(gs[0], *meta) {
		t.Fatalf("groups: %+v", gs)
	}
	mustWait(t, o.DeleteGroup("g1"))
	if len(o.Groups()) != 0 || o.HasOffsets("g1") {
		t.Fatalf("group not deleted: %+v", o.Groups())
	}
}

// TestRaftlogOffsetsRestart checks that offsets and groups come back after a
// restart, across a snapshot that let Raft drop the log before it.
func TestRaftlogOffsetsRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	o := openTestOffsets(t, s)
	for i := range 50 {
		mustWait(t, o.Commit("g", []OffsetCommit{commitOf("t", int32(i%5), int64(i), fmt.Sprint(i))}))
		if i == 30 {
			if err := o.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustWait(t, o.StoreGroup(&GroupMeta{Group: "g", ProtocolType: "consumer", Generation: 7}))
	mustWait(t, o.Commit("admin", []OffsetCommit{commitOf("t", 0, 1, "")}))
	o.Close()
	s.Close()

	s = openTestStore(t, nil, dir)
	defer s.Close()
	o = openTestOffsets(t, s)
	defer o.Close()
	for p := range int32(5) {
		c, ok := o.Fetch("g", TopicPartition{"t", p})
		if want := int64(45 + p); !ok || c.Offset != want || c.Metadata != fmt.Sprint(want) {
			t.Fatalf("t-%d after restart: %+v, want offset %d", p, c, want)
		}
	}
	gs := o.Groups()
	if len(gs) != 2 || gs[0].Group != "admin" || gs[1].Generation != 7 {
		t.Fatalf("groups after restart: %+v", gs)
	}
}

// TestRaftlogOffsetsCrash simulates power loss (unsynced writes are lost)
// after acknowledged commits: every acknowledged commit is there after
// recovery.
func TestRaftlogOffsetsCrash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	s := openTestStore(t, mem, "/data")
	o := openTestOffsets(t, s)
	for i := range 40 {
		mustWait(t, o.Commit("g", []OffsetCommit{commitOf("t", int32(i%4), int64(i), "")}))
		if i == 10 {
			if err := o.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(3, 4))})
	o.Close()
	s.Close()

	s = openTestStore(t, crashed, "/data")
	defer s.Close()
	o = openTestOffsets(t, s)
	defer o.Close()
	for p := range int32(4) {
		if c, _ := o.Fetch("g", TopicPartition{"t", p}); c.Offset != int64(36+p) {
			t.Fatalf("t-%d after crash: offset %d, want %d", p, c.Offset, 36+p)
		}
	}
}

// FuzzRaftlogOffsetsDecode feeds damaged bytes to every decoder of the
// offsets group. Invariants: no panic, no unbounded allocation, and a
// successful decode of an encoded value gives the value back.
func FuzzRaftlogOffsetsDecode(f *testing.F) {
	f.Add(encodeCommit("g", []OffsetCommit{commitOf("t", 1, 2, "m")}))
	f.Add(encodeDeleteOffsets("g", []TopicPartition{{"t", 1}}))
	f.Add(encodeGroupMeta(nil, &GroupMeta{Group: "g", Members: []GroupMember{{MemberID: "m"}}}))
	f.Add(appendCommittedKey(nil, "g", TopicPartition{"t", 9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := decoder{b: b}
		if g, cs := decodeCommit(&d); d.err == nil {
			if again := encodeCommit(g, cs); string(again) != string(b) {
				d2 := decoder{b: again}
				g2, cs2 := decodeCommit(&d2)
				if g2 != g || !reflect.DeepEqual(cs, cs2) {
					t.Fatalf("commit does not round-trip")
				}
			}
		}
		d = decoder{b: b}
		decodeDeleteOffsets(&d)
		d = decoder{b: b}
		decodeCommitted(&d)
		d = decoder{b: b}
		if g := decodeGroupMeta(&d); d.err == nil && g == nil {
			t.Fatal("nil group without error")
		}
		parseCommittedKey(b)
	})
}

// BenchmarkRaftlogOffsetCommit measures offset commits per second through
// Raft (synced), one partition per commit, from 1 and from 64 committers at
// once (64 consumers committing concurrently share fsyncs).
func BenchmarkRaftlogOffsetCommit(b *testing.B) {
	for _, committers := range []int{1, 64} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			s, err := OpenStore(b.TempDir(), StoreOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			o := openTestOffsets(b, s)
			defer o.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range committers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					group := fmt.Sprintf("group-%d", w)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if err := o.Commit(group, []OffsetCommit{commitOf("topic", int32(i%100), i, "")}).Wait(); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}
