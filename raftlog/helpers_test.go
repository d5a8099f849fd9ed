package raftlog

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/skiffstream/skiff/protocol"
)

var testClock = func() *atomic.Int64 { var c atomic.Int64; c.Store(time.Now().UnixMilli()); return &c }()

// testBatch builds a valid batch of n records of size bytes each.
func testBatch(t testing.TB, n, size int, pid int64, epoch int16, seq int32) []byte {
	t.Helper()
	recs := make([]protocol.Record, n)
	val := make([]byte, size)
	now := testClock.Add(int64(n) + 10) // distinct, increasing timestamps per batch
	for i := range recs {
		recs[i] = protocol.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: []byte(fmt.Sprintf("k%d", i)), Value: val}
	}
	b, err := protocol.BuildBatch(protocol.BatchHeader{
		BaseTimestamp: now, MaxTimestamp: now + int64(n-1), ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
	}, recs, protocol.CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cmdBuf gives Append its own copy of a batch.
func cmdBuf(batch []byte) []byte { return append([]byte(nil), batch...) }

func openTestStore(t testing.TB, fs vfs.FS, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir, StoreOptions{FS: fs, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openTestPartition(t testing.TB, s *Store, group uint64) *Partition {
	t.Helper()
	p, err := OpenPartition(s, group, GroupOptions{NodeID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.WaitLeader(5 * time.Second) {
		t.Fatal("partition never became leader")
	}
	return p
}

func mustAppend(t testing.TB, p *Partition, batch []byte) AppendResult {
	t.Helper()
	r := p.Append(cmdBuf(batch)).Wait()
	if r.Err != nil {
		t.Fatalf("append: %v", r.Err)
	}
	return r
}

// readAll reads every batch from offset 0 and returns their headers.
func readAll(t testing.TB, p *Partition) []protocol.BatchHeader {
	t.Helper()
	start, _ := p.Offsets()
	buf, err := p.Read(start, ReadOptions{MaxBytes: 1 << 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := protocol.ValidateBatches(buf)
	if err != nil && len(buf) > 0 {
		t.Fatalf("read back invalid batches: %v", err)
	}
	return hs
}

func validate(buf []byte) ([]protocol.BatchHeader, error) { return protocol.ValidateBatches(buf) }

func validateNoErr(buf []byte) []protocol.BatchHeader {
	hs, _ := protocol.ValidateBatches(buf)
	return hs
}
