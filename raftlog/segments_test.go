package raftlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/skiffstream/skiff/protocol"
)

// Tests of the partitions' segment files (segments.go): roll-over, reopen,
// retention, deletion, orphans, crashes, old data folders with inline
// entries, Raft suffix truncation, concurrent reads, and the pointer codec.

// openSegStore opens a store whose segments roll over at segBytes. segDir ""
// keeps them in dir/segments.
func openSegStore(t testing.TB, fs vfs.FS, dir, segDir string, segBytes int64) *Store {
	t.Helper()
	s, err := OpenStore(dir, StoreOptions{FS: fs, MemTableSize: 4 << 20, SegmentDir: segDir, SegmentBytes: segBytes})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var segTestTime = time.Now().UnixMilli()

// segTestBatch builds batch number i deterministically: n records of size
// bytes whose contents depend on i, so any two batches differ and a reader
// can rebuild what it should see from the batch number alone.
func segTestBatch(t testing.TB, i, n, size int) []byte {
	t.Helper()
	recs := make([]protocol.Record, n)
	for r := range recs {
		val := make([]byte, size)
		for j := range val {
			val[j] = byte(i*31 + r*7 + j)
		}
		recs[r] = protocol.Record{OffsetDelta: int32(r), TimestampDelta: int64(r), Key: []byte(fmt.Sprintf("b%d-r%d", i, r)), Value: val}
	}
	ts := segTestTime + int64(i)*10
	b, err := protocol.BuildBatch(protocol.BatchHeader{
		BaseTimestamp: ts, MaxTimestamp: ts + int64(n-1), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, recs, protocol.CodecNone)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameBatch compares two batches ignoring the base offset and partition
// leader epoch, which the broker fills in (the CRC covers neither).
func sameBatch(got, want []byte) bool {
	if len(got) != len(want) || len(got) < protocol.BatchHeaderSize {
		return false
	}
	g, w := slices.Clone(got), slices.Clone(want)
	for _, b := range [][]byte{g, w} {
		protocol.SetBaseOffset(b, 0)
		protocol.SetPartitionLeaderEpoch(b, 0)
	}
	return bytes.Equal(g, w)
}

// splitBatches frames buf into batches, failing on anything malformed.
func splitBatches(t testing.TB, buf []byte) ([][]byte, []protocol.BatchHeader) {
	t.Helper()
	hs, err := protocol.ValidateBatches(buf)
	if err != nil && len(buf) > 0 {
		t.Fatalf("invalid batches read back: %v", err)
	}
	var out [][]byte
	for len(buf) > 0 {
		b, rest, err := protocol.NextBatch(buf)
		if err != nil {
			t.Fatal(err)
		}
		out, buf = append(out, b), rest
	}
	return out, hs
}

// segLog is what a test appended to a partition: batch i is want[i] at
// base[i] (records per batch vary), stored at Raft index idx[i].
type segLog struct {
	want [][]byte
	base []int64
	idx  []uint64
}

func (l *segLog) append(t testing.TB, p *Partition, b []byte) {
	t.Helper()
	r := mustAppend(t, p, b)
	if n := len(l.base); n > 0 {
		h, _ := protocol.ParseBatchHeader(l.want[n-1])
		if want := l.base[n-1] + int64(h.LastOffsetDelta) + 1; r.BaseOffset != want {
			t.Fatalf("batch %d appended at %d, want %d", n, r.BaseOffset, want)
		}
	}
	last, _ := p.log.LastIndex()
	l.want, l.base, l.idx = append(l.want, b), append(l.base, r.BaseOffset), append(l.idx, last)
}

// check reads the partition back from batch from on: all at once, then each
// batch alone from its last offset (which makes Read seek into the segment
// that holds it).
func (l *segLog) check(t testing.TB, p *Partition, from int) {
	t.Helper()
	start, hw := p.Offsets()
	if from < len(l.base) && start != l.base[from] {
		t.Fatalf("log start %d, want %d", start, l.base[from])
	}
	h, _ := protocol.ParseBatchHeader(l.want[len(l.want)-1])
	if end := l.base[len(l.base)-1] + int64(h.LastOffsetDelta) + 1; hw != end {
		t.Fatalf("high watermark %d, want %d", hw, end)
	}
	buf, err := p.Read(start, ReadOptions{MaxBytes: 1 << 30}, nil)
	if err != nil {
		t.Fatalf("read from %d: %v", start, err)
	}
	got, hs := splitBatches(t, buf)
	if len(got) != len(l.want)-from {
		t.Fatalf("read %d batches, want %d", len(got), len(l.want)-from)
	}
	for j, b := range got {
		i := from + j
		if hs[j].BaseOffset != l.base[i] || !sameBatch(b, l.want[i]) {
			t.Fatalf("batch %d: base %d (want %d), same bytes %v", i, hs[j].BaseOffset, l.base[i], sameBatch(b, l.want[i]))
		}
	}
	for i := from; i < len(l.want); i++ {
		h, _ := protocol.ParseBatchHeader(l.want[i])
		buf, err := p.Read(l.base[i]+int64(h.LastOffsetDelta), ReadOptions{MaxBytes: 1, MinOne: true}, nil)
		if err != nil {
			t.Fatalf("read batch %d: %v", i, err)
		}
		got, hs := splitBatches(t, buf)
		if len(got) != 1 || hs[0].BaseOffset != l.base[i] || !sameBatch(got[0], l.want[i]) {
			t.Fatalf("read batch %d alone: %d batches", i, len(got))
		}
	}
}

// listSegments returns the first indexes of the segment files in dir, and
// fails on any other name.
func listSegments(t testing.TB, fs vfs.FS, dir string) []uint64 {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		if oserrorIsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	var ids []uint64
	for _, n := range names {
		id, err := strconv.ParseUint(strings.TrimSuffix(n, ".log"), 10, 64)
		if err != nil || n != segmentName(id) {
			t.Fatalf("unexpected file %q in %s", n, dir)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func exists(t testing.TB, fs vfs.FS, path string) bool {
	t.Helper()
	_, err := fs.Stat(path)
	if err != nil && !oserrorIsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

func fileSize(t testing.TB, fs vfs.FS, path string) int64 {
	t.Helper()
	fi, err := fs.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func readFile(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		t.Fatal(err)
	}
}

// scanSegment checks the records of one segment file (length, CRC, dense
// Raft indexes from the file's name on) and returns the indexes it holds.
func scanSegment(t testing.TB, fs vfs.FS, dir string, id uint64) []uint64 {
	t.Helper()
	return scanSegmentCrashed(t, fs, dir, id, false)
}

// scanSegmentCrashed is scanSegment that, after a crash, stops at a torn
// record (a write the crash cut; no pointer names it).
func scanSegmentCrashed(t testing.TB, fs vfs.FS, dir string, id uint64, crashed bool) []uint64 {
	t.Helper()
	b := readFile(t, fs, fs.PathJoin(dir, segmentName(id)))
	var idx []uint64
	for off := 0; off < len(b); {
		if len(b)-off < segHeaderSize {
			if crashed {
				break
			}
			t.Fatalf("segment %d: %d trailing bytes at %d", id, len(b)-off, off)
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		crc := binary.LittleEndian.Uint32(b[off+4:])
		i := binary.BigEndian.Uint64(b[off+8:])
		if off+segHeaderSize+n > len(b) {
			if crashed {
				break
			}
			t.Fatalf("segment %d: record at %d of %d bytes past the end", id, off, n)
		}
		if got := crc32.Checksum(b[off+8:off+segHeaderSize+n], castagnoli); got != crc {
			if crashed {
				break
			}
			t.Fatalf("segment %d: record at %d: crc %x, want %x", id, off, got, crc)
		}
		if want := id + uint64(len(idx)); i != want {
			t.Fatalf("segment %d: record at %d has index %d, want %d", id, off, i, want)
		}
		var l raft.Log
		if err := decodeLog(b[off+segHeaderSize:off+segHeaderSize+n], &l, false); err != nil {
			t.Fatalf("segment %d: record %d: %v", id, i, err)
		}
		idx = append(idx, i)
		off += segHeaderSize + n
	}
	return idx
}

// checkSegmentFiles checks that the group's files hold dense Raft indexes,
// each file starting at its name and the next file starting right after it,
// and that each file (but one holding a single record) is within limit
// (0: not checked; a file may pass it by the entries of one StoreLogs).
func checkSegmentFiles(t testing.TB, fs vfs.FS, dir string, limit int64) []uint64 {
	t.Helper()
	return checkSegmentFilesCrashed(t, fs, dir, limit, false)
}

// checkSegmentFilesCrashed is checkSegmentFiles that, after a crash, allows a
// file to end with records that were written but never acknowledged (no
// pointer names them; writing resumed in a new file after the restart).
func checkSegmentFilesCrashed(t testing.TB, fs vfs.FS, dir string, limit int64, crashed bool) []uint64 {
	t.Helper()
	ids := listSegments(t, fs, dir)
	for k, id := range ids {
		idx := scanSegmentCrashed(t, fs, dir, id, crashed)
		if len(idx) == 0 {
			t.Fatalf("segment %d is empty", id)
		}
		if k+1 < len(ids) && (idx[len(idx)-1]+1 < ids[k+1] || !crashed && idx[len(idx)-1]+1 != ids[k+1]) {
			t.Fatalf("segment %d ends at %d, the next starts at %d", id, idx[len(idx)-1], ids[k+1])
		}
		if sz := fileSize(t, fs, fs.PathJoin(dir, segmentName(id))); limit > 0 && sz > limit && len(idx) > 1 {
			t.Fatalf("segment %d holds %d bytes in %d records, past the limit %d", id, sz, len(idx), limit)
		}
	}
	return ids
}

// segOf returns the segment (of ids) that holds index i.
func segOf(ids []uint64, i uint64) uint64 {
	k, found := slices.BinarySearch(ids, i)
	if found {
		return ids[k]
	}
	return ids[k-1]
}

func TestSegmentsRollOverAndReopen(t *testing.T) {
	fs := vfs.Default
	dir, segRoot := t.TempDir(), fs.PathJoin(t.TempDir(), "segs")
	const limit = 32 << 10
	const group = 0xabc
	s := openSegStore(t, fs, dir, segRoot, limit)
	p := openTestPartition(t, s, group)
	gdir := fs.PathJoin(segRoot, fmt.Sprintf("%016x", group))
	if gdir != s.groupSegDir(group) || !strings.HasSuffix(gdir, "/0000000000000abc") {
		t.Fatalf("group folder %s", s.groupSegDir(group))
	}
	var l segLog
	for i := range 60 {
		size := 500 // 0.5-2 KiB
		if i%20 == 7 {
			size = 20 << 10 // 20-80 KiB: written from the batch, not gathered
		}
		l.append(t, p, segTestBatch(t, i, 1+i%4, size))
	}
	l.check(t, p, 0)
	ids := checkSegmentFiles(t, fs, gdir, limit)
	if len(ids) < 3 {
		t.Fatalf("%d segments after ~75 KiB at a 32 KiB limit: %v", len(ids), ids)
	}
	if ids[0] != 1 {
		t.Fatalf("first segment %d, want 1 (the bootstrap entry)", ids[0])
	}
	lastBefore, _ := p.log.LastIndex()
	if got := scanSegment(t, fs, gdir, ids[len(ids)-1]); got[len(got)-1] != lastBefore {
		t.Fatalf("last record %d, last index %d", got[len(got)-1], lastBefore)
	}
	sizes := map[uint64]int64{}
	for _, id := range ids {
		sizes[id] = fileSize(t, fs, fs.PathJoin(gdir, segmentName(id)))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(t, fs, fs.PathJoin(dir, "segments")) {
		t.Fatal("a segments folder in the data dir although SegmentDir is elsewhere")
	}

	s = openSegStore(t, fs, dir, segRoot, limit)
	defer s.Close()
	p = openTestPartition(t, s, group)
	defer p.Close()
	l.check(t, p, 0)
	// Nothing was appended to an old file: the leader's first entry after
	// the restart started a new one.
	for _, id := range ids {
		if sz := fileSize(t, fs, fs.PathJoin(gdir, segmentName(id))); sz != sizes[id] {
			t.Fatalf("segment %d grew from %d to %d after reopening", id, sizes[id], sz)
		}
	}
	for i := 60; i < 70; i++ {
		l.append(t, p, segTestBatch(t, i, 2, 300))
	}
	l.check(t, p, 0)
	after := checkSegmentFiles(t, fs, gdir, limit)
	if len(after) != len(ids)+1 || !slices.Equal(after[:len(ids)], ids) || after[len(ids)] != lastBefore+1 {
		t.Fatalf("segments after reopen and append: %v, want %v and %d", after, ids, lastBefore+1)
	}
	for i := 60; i < 70; i++ {
		if segOf(after, l.idx[i]) != lastBefore+1 {
			t.Fatalf("batch %d (index %d) not in the new segment", i, l.idx[i])
		}
	}
	for i := range 60 {
		if segOf(after, l.idx[i]) > lastBefore {
			t.Fatalf("batch %d (index %d) in a new segment", i, l.idx[i])
		}
	}
}

func TestSegmentsRetentionRemovesWholeSegments(t *testing.T) {
	fs := vfs.Default
	dir := t.TempDir()
	const limit = 32 << 10
	const group = 12
	s := openSegStore(t, fs, dir, "", limit)
	defer s.Close()
	p := openTestPartition(t, s, group)
	defer p.Close()
	gdir := fs.PathJoin(dir, "segments", fmt.Sprintf("%016x", group))
	var l segLog
	for i := range 60 {
		l.append(t, p, segTestBatch(t, i, 4, 500))
	}
	ids := checkSegmentFiles(t, fs, gdir, limit)
	if len(ids) < 4 {
		t.Fatalf("only %d segments: %v", len(ids), ids)
	}
	// Keep from a batch in the middle of the third segment.
	k := slices.IndexFunc(l.idx, func(i uint64) bool { return i > ids[2] })
	if k < 0 || segOf(ids, l.idx[k]) != ids[2] {
		t.Fatalf("no batch inside segment %d", ids[2])
	}
	if r := p.Truncate(l.base[k]); r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// The Truncate entry may have rolled a new segment.
	ids = listSegments(t, fs, gdir)
	sizeBefore := s.GroupSize(group)
	if err := p.Reclaim(); err != nil {
		t.Fatal(err)
	}
	if first, _ := p.log.FirstIndex(); first != l.idx[k] {
		t.Fatalf("first index %d after reclaim, want %d", first, l.idx[k])
	}
	got := checkSegmentFiles(t, fs, gdir, limit)
	if !slices.Equal(got, ids[2:]) {
		t.Fatalf("segments after reclaim %v, want %v", got, ids[2:])
	}
	if sizeAfter := s.GroupSize(group); sizeAfter >= sizeBefore || sizeBefore-sizeAfter < 2*limit*3/4 {
		t.Fatalf("group size %d -> %d after removing two segments", sizeBefore, sizeAfter)
	}
	l.check(t, p, k)
	if _, err := p.Read(l.base[k]-1, ReadOptions{MaxBytes: 1 << 20}, nil); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the log start: %v", err)
	}
	var out raft.Log
	if err := p.log.GetLog(l.idx[k]-1, &out); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("reclaimed entry: %v", err)
	}
	if err := p.log.GetLog(l.idx[k], &out); err != nil || !sameBatch(out.Data, l.want[k]) {
		t.Fatalf("first kept entry: %v", err)
	}

	// Everything up to the end of the last segment but one: only the
	// active segment stays, and appends go on.
	last := slices.IndexFunc(l.idx, func(i uint64) bool { return i >= ids[len(ids)-1] })
	if last < 0 {
		last = len(l.idx) - 1
	}
	if r := p.Truncate(l.base[last]); r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	ids = listSegments(t, fs, gdir)
	keep := slices.Index(ids, segOf(ids, l.idx[last]))
	if keep < 1 {
		t.Fatalf("segments %v: nothing to reclaim below index %d", ids, l.idx[last])
	}
	if err := p.Reclaim(); err != nil {
		t.Fatal(err)
	}
	if got := listSegments(t, fs, gdir); !slices.Equal(got, ids[keep:]) {
		t.Fatalf("segments after the second reclaim %v, want %v", got, ids[keep:])
	}
	for i := 60; i < 80; i++ {
		l.append(t, p, segTestBatch(t, i, 4, 500))
	}
	l.check(t, p, last)
	checkSegmentFiles(t, fs, gdir, limit)
}

func TestSegmentsDeleteRemovesFolder(t *testing.T) {
	fs := vfs.Default
	dir := t.TempDir()
	const limit = 16 << 10
	s := openSegStore(t, fs, dir, "", limit)
	gone, kept := openTestPartition(t, s, 21), openTestPartition(t, s, 22)
	var lg, lk segLog
	for i := range 30 {
		lg.append(t, gone, segTestBatch(t, i, 2, 500))
		lk.append(t, kept, segTestBatch(t, 100+i, 2, 500))
	}
	goneDir, keptDir := s.groupSegDir(21), s.groupSegDir(22)
	if len(listSegments(t, fs, goneDir)) < 2 || len(listSegments(t, fs, keptDir)) < 2 {
		t.Fatal("no roll-over")
	}
	if err := gone.Delete(); err != nil {
		t.Fatal(err)
	}
	if exists(t, fs, goneDir) {
		t.Fatalf("%s still there after Delete", goneDir)
	}
	lk.check(t, kept, 0)
	kept.Close()
	s.Close()

	s = openSegStore(t, fs, dir, "", limit)
	defer s.Close()
	if exists(t, fs, goneDir) {
		t.Fatalf("%s back after reopening", goneDir)
	}
	kept = openTestPartition(t, s, 22)
	defer kept.Close()
	lk.check(t, kept, 0)
	// The deleted partition starts empty if it is created again.
	again := openTestPartition(t, s, 21)
	defer again.Close()
	if ls, hw := again.Offsets(); ls != 0 || hw != 0 {
		t.Fatalf("recreated partition has offsets %d-%d", ls, hw)
	}
	var la segLog
	la.append(t, again, segTestBatch(t, 7, 1, 10))
	la.check(t, again, 0)
}

func TestSegmentsOrphansRemoved(t *testing.T) {
	fs := vfs.NewMem()
	const limit = 16 << 10
	const group = 31
	s := openSegStore(t, fs, "/data", "", limit)
	p := openTestPartition(t, s, group)
	var l segLog
	for i := range 50 {
		l.append(t, p, segTestBatch(t, i, 2, 500))
	}
	gdir := s.groupSegDir(group)
	ids := checkSegmentFiles(t, fs, gdir, limit)
	if len(ids) < 4 {
		t.Fatalf("segments %v", ids)
	}
	// Retention past the first two segments, so a file below the first
	// one can be wholly below the first index.
	k := slices.IndexFunc(l.idx, func(i uint64) bool { return i > ids[2] })
	if r := p.Truncate(l.base[k]); r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := errors.Join(p.Snapshot(), p.Reclaim()); err != nil {
		t.Fatal(err)
	}
	ids = listSegments(t, fs, gdir)
	first, _ := p.log.FirstIndex()
	last, _ := p.log.LastIndex()
	if ids[0] <= 1 || ids[0] > first {
		t.Fatalf("segments %v, first index %d", ids, first)
	}
	p.Close()
	s.Close()

	// A folder of a group with no key in Pebble (a crash in DeleteGroup).
	orphan := fs.PathJoin("/data", "segments", fmt.Sprintf("%016x", 0x77))
	if err := fs.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, fs.PathJoin(orphan, segmentName(1)), []byte("stale records"))
	// Left from crashes: records past the last pointer in a new file, a
	// suffix truncated in Pebble but not on disk, and a prefix reclaimed in
	// Pebble but not on disk.
	junk := []uint64{last + 1, last + 1000, 1}
	for _, id := range junk {
		writeFile(t, fs, fs.PathJoin(gdir, segmentName(id)), bytes.Repeat([]byte{0xee}, 100))
	}

	s = openSegStore(t, fs, "/data", "", limit)
	defer s.Close()
	if exists(t, fs, orphan) {
		t.Fatal("the orphan group folder survived OpenStore")
	}
	if got := listSegments(t, fs, gdir); len(got) != len(ids)+len(junk) {
		t.Fatalf("OpenStore touched a live group's files: %v", got)
	}
	gl, err := newGroupLog(s, group, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := listSegments(t, fs, gdir); !slices.Equal(got, ids) {
		t.Fatalf("segments after opening the group %v, want %v", got, ids)
	}
	for i := k; i < len(l.idx); i++ {
		var out raft.Log
		if err := gl.GetLog(l.idx[i], &out); err != nil || !sameBatch(out.Data, l.want[i]) {
			t.Fatalf("entry %d after removing orphans: %v", l.idx[i], err)
		}
	}
	gl.close()

	p = openTestPartition(t, s, group)
	defer p.Close()
	l.check(t, p, k)
	for i := 50; i < 55; i++ {
		l.append(t, p, segTestBatch(t, i, 2, 500))
	}
	l.check(t, p, k)
	got := checkSegmentFiles(t, fs, gdir, limit)
	if got[len(got)-1] != last+1 || !slices.Equal(got[:len(got)-1], ids) {
		t.Fatalf("segments after appending %v (old %v, last index %d)", got, ids, last)
	}
}

func TestSegmentsCrashLosesNoAcknowledged(t *testing.T) {
	for _, pct := range []int{50, 100} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("unsynced%d/seed%d", pct, seed), func(t *testing.T) {
				testSegmentsCrash(t, pct, seed)
			})
		}
	}
}

func testSegmentsCrash(t *testing.T, pct int, seed uint64) {
	const limit = 12 << 10
	const group = 5
	rng := rand.New(rand.NewPCG(seed, uint64(pct)))
	mem := vfs.NewCrashableMem()
	s := openSegStore(t, mem, "/data", "", limit)
	p := openTestPartition(t, s, group)
	var l segLog
	n := 0
	next := func() []byte { n++; return segTestBatch(t, n, 1+n%3, 400+rng.IntN(400)) }
	for range 40 {
		l.append(t, p, next())
		if n == 15 {
			if err := p.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ids := listSegments(t, mem, s.groupSegDir(group)); len(ids) < 3 {
		t.Fatalf("segments %v: too few rolls", ids)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
	p.Close()
	s.Close()

	oldLast := l.idx[len(l.idx)-1] // every append was acknowledged
	s, p = recoverSegs(t, crashed, limit, group, &l)
	// Appends continue after the recovered log, at the right offsets, and
	// in a new segment.
	for range 15 {
		l.append(t, p, next())
	}
	l.check(t, p, 0)
	if ids := listSegments(t, crashed, s.groupSegDir(group)); segOf(ids, l.idx[len(l.idx)-15]) <= oldLast {
		t.Fatalf("appends after recovery (index %d) went to a segment from before the crash (last index %d): %v", l.idx[len(l.idx)-15], oldLast, ids)
	}

	// A second crash while appends are in flight: every batch acknowledged
	// before it survives.
	var (
		stop  atomic.Bool
		mu    sync.Mutex
		acked []AppendResult
		sent  [][]byte // read-only once the appender runs
		wg    sync.WaitGroup
	)
	for range 300 {
		sent = append(sent, next())
	}
	exited := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(exited)
		for i := 0; !stop.Load() && i < len(sent); i++ {
			r := p.Append(cmdBuf(sent[i])).Wait()
			if r.Err != nil {
				if !stop.Load() {
					t.Errorf("append: %v", r.Err)
				}
				return
			}
			mu.Lock()
			acked = append(acked, r)
			mu.Unlock()
		}
	}()
	for k := 0; k < 10; time.Sleep(time.Millisecond) {
		select {
		case <-exited:
			t.Fatal("the appender stopped")
		default:
		}
		mu.Lock()
		k = len(acked)
		mu.Unlock()
	}
	mu.Lock()
	ackedBefore := slices.Clone(acked)
	mu.Unlock()
	crashed2 := crashed.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rng})
	stop.Store(true)
	wg.Wait() // the append in flight completes before the group stops
	p.Close()
	s.Close()
	for i, r := range ackedBefore {
		l.want, l.base, l.idx = append(l.want, sent[i]), append(l.base, r.BaseOffset), append(l.idx, 0)
	}
	s, p = recoverSegs(t, crashed2, limit, group, &l)
	defer s.Close()
	defer p.Close()
	for range 5 {
		l.append(t, p, next())
	}
	l.check(t, p, 0)
}

// recoverSegs opens a crashed store and checks the acknowledged batches of l
// are all there, at their offsets. Batches that were in flight at the crash
// may follow them; l is extended with those it finds.
func recoverSegs(t *testing.T, fs vfs.FS, limit int64, group uint64, l *segLog) (*Store, *Partition) {
	t.Helper()
	s := openSegStore(t, fs, "/data", "", limit)
	p := openTestPartition(t, s, group)
	h, _ := protocol.ParseBatchHeader(l.want[len(l.want)-1])
	end := l.base[len(l.base)-1] + int64(h.LastOffsetDelta) + 1
	// Raft re-applies the entries after the last snapshot: a barrier
	// waits for all of them.
	if err := p.raft.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if _, hw := p.Offsets(); hw < end {
		t.Fatalf("high watermark %d after recovery, acknowledged up to %d", hw, end)
	}
	// No file past the last index survives the restart.
	last, _ := p.log.LastIndex()
	for _, id := range checkSegmentFilesCrashed(t, fs, s.groupSegDir(group), 0, true) {
		if id > last {
			t.Fatalf("segment %d past the last index %d", id, last)
		}
	}
	buf, err := p.Read(0, ReadOptions{MaxBytes: 1 << 30}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, hs := splitBatches(t, buf)
	if len(got) < len(l.want) {
		t.Fatalf("after the crash: %d batches, %d acknowledged", len(got), len(l.want))
	}
	for i := range l.want {
		if hs[i].BaseOffset != l.base[i] || !sameBatch(got[i], l.want[i]) {
			t.Fatalf("after the crash batch %d at %d, want %d (same bytes %v)", i, hs[i].BaseOffset, l.base[i], sameBatch(got[i], l.want[i]))
		}
	}
	for i := len(l.want); i < len(got); i++ {
		l.want, l.base, l.idx = append(l.want, got[i]), append(l.base, hs[i].BaseOffset), append(l.idx, 0)
	}
	l.check(t, p, 0)
	return s, p
}

// segTestLogs builds Raft entries from..to with varied types, terms,
// extensions, append times and data sizes (some past the 32 KiB at which
// append writes Data directly).
func segTestLogs(from, to uint64, salt byte) []*raft.Log {
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		l := &raft.Log{Index: i, Term: 1 + i/7, Type: raft.LogCommand}
		switch i % 5 {
		case 1:
			l.Type = raft.LogNoop
		case 2:
			l.Type = raft.LogConfiguration
		}
		if i%3 == 0 {
			l.Extensions = []byte{salt, byte(i), 0xee}
		}
		if i%4 != 0 {
			l.AppendedAt = time.Unix(1_700_000_000, int64(i)*1000+int64(salt))
		}
		size := int(i*97%900) + int(salt)
		switch i % 11 {
		case 0:
			size = 0
		case 6:
			size = 40<<10 + int(i)
		}
		l.Data = make([]byte, size)
		for j := range l.Data {
			l.Data[j] = byte(int(i)*13+j) ^ salt
		}
		logs = append(logs, l)
	}
	return logs
}

func checkGetLogs(t testing.TB, gl *groupLog, want []*raft.Log) {
	t.Helper()
	for _, w := range want {
		var got raft.Log
		if err := gl.GetLog(w.Index, &got); err != nil {
			t.Fatalf("get %d: %v", w.Index, err)
		}
		if got.Index != w.Index || got.Term != w.Term || got.Type != w.Type ||
			!bytes.Equal(got.Data, w.Data) || !bytes.Equal(got.Extensions, w.Extensions) || !got.AppendedAt.Equal(w.AppendedAt) {
			t.Fatalf("entry %d: got %d term %d type %v ext %x at %v data %d bytes; want term %d type %v ext %x at %v data %d bytes (equal %v)",
				w.Index, got.Index, got.Term, got.Type, got.Extensions, got.AppendedAt, len(got.Data),
				w.Term, w.Type, w.Extensions, w.AppendedAt, len(w.Data), bytes.Equal(got.Data, w.Data))
		}
	}
}

func checkRange(t testing.TB, gl *groupLog, first, last uint64) {
	t.Helper()
	if f, _ := gl.FirstIndex(); f != first {
		t.Fatalf("first index %d, want %d", f, first)
	}
	if l, _ := gl.LastIndex(); l != last {
		t.Fatalf("last index %d, want %d", l, last)
	}
	var out raft.Log
	for _, i := range []uint64{first - 1, last + 1} {
		if i == 0 {
			continue
		}
		if err := gl.GetLog(i, &out); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("get %d outside %d-%d: %v", i, first, last, err)
		}
	}
}

// storeInBatches stores logs a few at a time, as Raft does.
func storeInBatches(t testing.TB, gl *groupLog, logs []*raft.Log, per int) {
	t.Helper()
	for len(logs) > 0 {
		n := min(per, len(logs))
		if err := gl.StoreLogs(logs[:n]); err != nil {
			t.Fatal(err)
		}
		logs = logs[n:]
	}
}

func TestSegmentsOldInlineEntries(t *testing.T) {
	const limit = 16 << 10
	const group = 40
	fs := vfs.NewMem()
	s := openSegStore(t, fs, "/data", "", limit)
	old, err := newGroupLog(s, group, false)
	if err != nil {
		t.Fatal(err)
	}
	inline := segTestLogs(1, 20, 0)
	storeInBatches(t, old, inline, 3)
	if ids := listSegments(t, fs, s.groupSegDir(group)); len(ids) != 0 {
		t.Fatalf("inline entries wrote segments %v", ids)
	}
	checkGetLogs(t, old, inline)

	gl, err := newGroupLog(s, group, true)
	if err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, 1, 20)
	checkGetLogs(t, gl, inline)
	seg := segTestLogs(21, 60, 1)
	storeInBatches(t, gl, seg, 4)
	all := append(slices.Clone(inline), seg...)
	checkRange(t, gl, 1, 60)
	checkGetLogs(t, gl, all)
	ids := checkSegmentFiles(t, fs, s.groupSegDir(group), 0)
	if len(ids) < 3 || ids[0] != 21 {
		t.Fatalf("segments %v", ids)
	}
	// A pointer read through a group without segments is an error, not a
	// wrong entry.
	var out raft.Log
	if err := old.GetLog(30, &out); err == nil {
		t.Fatal("an inline group log read a segment pointer")
	}

	// A prefix of inline entries only, then one into the segments.
	if err := gl.DeleteRange(1, 7); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, 8, 60)
	checkGetLogs(t, gl, all[7:])
	if got := listSegments(t, fs, s.groupSegDir(group)); !slices.Equal(got, ids) {
		t.Fatalf("an inline prefix removed segments: %v", got)
	}
	cut := ids[1] + 2
	if err := gl.DeleteRange(8, cut-1); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, cut, 60)
	checkGetLogs(t, gl, all[cut-1:])
	if got := listSegments(t, fs, s.groupSegDir(group)); !slices.Equal(got, ids[1:]) {
		t.Fatalf("segments after a prefix up to %d: %v, want %v", cut-1, got, ids[1:])
	}
	// A suffix, then new entries in its place.
	if err := gl.DeleteRange(55, 60); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, cut, 54)
	repl := segTestLogs(55, 62, 9)
	storeInBatches(t, gl, repl, 3)
	all = append(all[:54], repl...)
	checkRange(t, gl, cut, 62)
	checkGetLogs(t, gl, all[cut-1:])

	// Another group: a suffix that reaches into the inline entries drops
	// every segment; new entries go to segments from there.
	const group2 = 41
	old2, err := newGroupLog(s, group2, false)
	if err != nil {
		t.Fatal(err)
	}
	inline2 := segTestLogs(1, 10, 3)
	storeInBatches(t, old2, inline2, 5)
	gl2, err := newGroupLog(s, group2, true)
	if err != nil {
		t.Fatal(err)
	}
	storeInBatches(t, gl2, segTestLogs(11, 40, 4), 5)
	if len(listSegments(t, fs, s.groupSegDir(group2))) < 2 {
		t.Fatal("no roll-over")
	}
	if err := gl2.DeleteRange(6, 40); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl2, 1, 5)
	if got := listSegments(t, fs, s.groupSegDir(group2)); len(got) != 0 {
		t.Fatalf("segments after truncating into the inline entries: %v", got)
	}
	repl2 := segTestLogs(6, 30, 5)
	storeInBatches(t, gl2, repl2, 6)
	all2 := append(slices.Clone(inline2[:5]), repl2...)
	checkRange(t, gl2, 1, 30)
	checkGetLogs(t, gl2, all2)
	if got := checkSegmentFiles(t, fs, s.groupSegDir(group2), 0); got[0] != 6 {
		t.Fatalf("segments %v, want the first at 6", got)
	}
	gl.close()
	gl2.close()
	s.Close()

	s = openSegStore(t, fs, "/data", "", limit)
	defer s.Close()
	gl, err = newGroupLog(s, group, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gl.close()
	checkRange(t, gl, cut, 62)
	checkGetLogs(t, gl, all[cut-1:])
	gl2, err = newGroupLog(s, group2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gl2.close()
	checkRange(t, gl2, 1, 30)
	checkGetLogs(t, gl2, all2)
	// The whole log deleted, then written again.
	if err := gl2.DeleteRange(1, 30); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl2, 0, 0)
	if got := listSegments(t, fs, s.groupSegDir(group2)); len(got) != 0 {
		t.Fatalf("segments after deleting everything: %v", got)
	}
	fresh := segTestLogs(31, 35, 6)
	storeInBatches(t, gl2, fresh, 2)
	checkRange(t, gl2, 31, 35)
	checkGetLogs(t, gl2, fresh)
}

func TestSegmentsSuffixTruncation(t *testing.T) {
	const limit = 24 << 10
	const group = 50
	fs := vfs.NewMem()
	s := openSegStore(t, fs, "/data", "", limit)
	gl, err := newGroupLog(s, group, true)
	if err != nil {
		t.Fatal(err)
	}
	const N = 80
	logs := segTestLogs(1, N, 0)
	storeInBatches(t, gl, logs, 3)
	dir := s.groupSegDir(group)
	ids := checkSegmentFiles(t, fs, dir, 0)
	if len(ids) < 4 {
		t.Fatalf("segments %v", ids)
	}
	checkRange(t, gl, 1, N)
	checkGetLogs(t, gl, logs)

	// Inside a segment: the stale records after k stay in its file but are
	// never read; new ones go to a new file named k.
	k := ids[len(ids)-3] + 2
	if err := gl.DeleteRange(k, N); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, 1, k-1)
	checkGetLogs(t, gl, logs[:k-1])
	const m = 15
	repl := segTestLogs(k, k+m, 7)
	storeInBatches(t, gl, repl, 4)
	all := append(slices.Clone(logs[:k-1]), repl...)
	checkRange(t, gl, 1, k+m)
	checkGetLogs(t, gl, all)
	got := listSegments(t, fs, dir)
	if !slices.Contains(got, k) || !slices.Equal(got[:len(ids)-2], ids[:len(ids)-2]) {
		t.Fatalf("segments after truncating at %d: %v (before %v)", k, got, ids)
	}
	// Files named after k hold only new entries (a file of an old name was
	// made again): each starts with its own index and the new data.
	for _, id := range got {
		if id < k {
			continue
		}
		if idx := scanSegment(t, fs, dir, id); idx[0] != id || idx[len(idx)-1] > k+m {
			t.Fatalf("segment %d holds %d-%d after truncating at %d", id, idx[0], idx[len(idx)-1], k)
		}
	}

	// At a segment boundary: the file of that name is replaced.
	ids = got
	b := ids[len(ids)-1]
	if b <= k {
		b = k // still at a boundary: the file named k
	}
	if err := gl.DeleteRange(b, k+m); err != nil {
		t.Fatal(err)
	}
	checkRange(t, gl, 1, b-1)
	repl2 := segTestLogs(b, b+5, 11)
	storeInBatches(t, gl, repl2, 2)
	all = append(all[:b-1], repl2...)
	checkRange(t, gl, 1, b+5)
	checkGetLogs(t, gl, all)
	if got := scanSegment(t, fs, dir, b); got[0] != b {
		t.Fatalf("segment %d starts at %d", b, got[0])
	}
	// Inside the segment being written: new entries still start a new
	// file, so no live record follows a stale one in a file.
	var small []*raft.Log
	for i := b + 6; i <= b+9; i++ {
		small = append(small, &raft.Log{Index: i, Term: 9, Type: raft.LogCommand, Data: []byte{byte(i), 1}})
	}
	storeInBatches(t, gl, small, 4)
	all = append(all, small...)
	active := listSegments(t, fs, dir)
	if idx := scanSegment(t, fs, dir, active[len(active)-1]); idx[len(idx)-1] != b+9 || len(idx) < 4 {
		t.Fatalf("the active segment holds %v", idx)
	}
	if err := gl.DeleteRange(b+8, b+9); err != nil {
		t.Fatal(err)
	}
	small = []*raft.Log{{Index: b + 8, Term: 10, Type: raft.LogCommand, Data: []byte("new")}}
	storeInBatches(t, gl, small, 1)
	all = append(all[:b+7], small...)
	checkRange(t, gl, 1, b+8)
	checkGetLogs(t, gl, all)
	if got := listSegments(t, fs, dir); got[len(got)-1] != b+8 {
		t.Fatalf("segments %v after truncating the segment being written at %d", got, b+8)
	}
	b += 3 // the log now ends at b+5, as the checks below expect
	gl.close()
	s.Close()

	s = openSegStore(t, fs, "/data", "", limit)
	defer s.Close()
	gl, err = newGroupLog(s, group, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gl.close()
	checkRange(t, gl, 1, b+5)
	checkGetLogs(t, gl, all)
	// And once more after the reopen.
	if err := gl.DeleteRange(b+2, b+5); err != nil {
		t.Fatal(err)
	}
	repl3 := segTestLogs(b+2, b+9, 13)
	storeInBatches(t, gl, repl3, 3)
	all = append(all[:b+1], repl3...)
	checkRange(t, gl, 1, b+9)
	checkGetLogs(t, gl, all)
	if got := listSegments(t, fs, dir); !slices.Contains(got, b+2) {
		t.Fatalf("segments %v: no new file at %d", got, b+2)
	}
}

func TestSegmentsConcurrentReadsDuringRetention(t *testing.T) {
	const limit = 8 << 10
	const group = 60
	const recs = 2 // records per batch, so batch i is at offset 2i
	s := openSegStore(t, vfs.NewMem(), "/data", "", limit)
	defer s.Close()
	p := openTestPartition(t, s, group)
	defer p.Close()
	batch := func(i int) []byte { return segTestBatch(t, i, recs, 400+i%7*50) }
	want := make([][]byte, 250)
	for i := range want {
		want[i] = batch(i)
	}

	var (
		done             atomic.Bool
		wg               sync.WaitGroup
		reads, nonEmpty  atomic.Int64
		removedSegments  atomic.Int64
		outOfRangeErrors atomic.Int64
	)
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			for !done.Load() {
				start, hw := p.Offsets()
				off := start
				if hw > start && r > 0 {
					off = start + rng.Int64N(hw-start+1)
				}
				o := ReadOptions{MaxBytes: 1 + rng.IntN(16<<10), MinOne: rng.IntN(2) == 0}
				buf, err := p.Read(off, o, nil)
				reads.Add(1)
				_ = s.GroupSize(group)
				if errors.Is(err, ErrOffsetOutOfRange) {
					outOfRangeErrors.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("read at %d: %v", off, err)
					return
				}
				hs, err := protocol.ValidateBatches(buf)
				if err != nil && len(buf) > 0 {
					t.Errorf("read at %d: bad batches: %v", off, err)
					return
				}
				if len(hs) > 0 {
					nonEmpty.Add(1)
					first := hs[0]
					if first.BaseOffset > off || first.BaseOffset+int64(first.LastOffsetDelta) < off {
						t.Errorf("read at %d: first batch %d-%d", off, first.BaseOffset, first.BaseOffset+int64(first.LastOffsetDelta))
						return
					}
				}
				rest := buf
				for j, h := range hs {
					if j > 0 && h.BaseOffset != hs[j-1].BaseOffset+recs {
						t.Errorf("read at %d: batch at %d after %d", off, h.BaseOffset, hs[j-1].BaseOffset)
						return
					}
					b, r, _ := protocol.NextBatch(rest)
					rest = r
					if h.BaseOffset%recs != 0 || int(h.BaseOffset/recs) >= len(want) || !sameBatch(b, want[h.BaseOffset/recs]) {
						t.Errorf("read at %d: batch at %d is not the one appended there", off, h.BaseOffset)
						return
					}
				}
			}
		}()
	}

	ids := func() []uint64 { return listSegments(t, s.fs, s.groupSegDir(group)) }
	for i := range want {
		r := p.Append(cmdBuf(want[i])).Wait()
		if r.Err != nil || r.BaseOffset != int64(recs*i) {
			t.Errorf("append %d: %+v", i, r)
			break
		}
		if i%25 == 24 {
			before := len(ids())
			r := p.Truncate(int64(recs * (i - 20)))
			if r.Err != nil {
				t.Errorf("truncate: %v", r.Err)
				break
			}
			if err := errors.Join(p.Snapshot(), p.Reclaim()); err != nil {
				t.Errorf("reclaim: %v", err)
				break
			}
			removedSegments.Add(int64(before - len(ids())))
		}
	}
	done.Store(true)
	wg.Wait()
	if t.Failed() {
		return
	}
	if removedSegments.Load() < 5 || nonEmpty.Load() < 10 {
		t.Fatalf("%d segments removed, %d of %d reads returned batches: the test did not exercise much",
			removedSegments.Load(), nonEmpty.Load(), reads.Load())
	}
	t.Logf("%d reads (%d with batches, %d out of range), %d segments removed", reads.Load(), nonEmpty.Load(), outOfRangeErrors.Load(), removedSegments.Load())
}

func FuzzDecodePtr(f *testing.F) {
	for _, p := range []segPtr{
		{},
		{seg: 1, off: 16, term: 1, entryLen: 10, dataOff: 4, typ: raft.LogCommand},
		{seg: 1 << 40, off: 64 << 20, term: 1<<63 + 5, entryLen: 1 << 30, dataOff: 1 << 30, typ: raft.LogConfiguration},
		{seg: ^uint64(0), off: ^uint64(0), term: ^uint64(0), entryLen: ^uint64(0), dataOff: 3, typ: 255},
	} {
		f.Add(appendPtr(nil, p), p.term, p.seg, p.off, p.entryLen, p.dataOff, byte(p.typ))
	}
	for _, b := range [][]byte{
		nil, {}, {ptrTag}, {ptrTag, 0}, {0}, {1, 2, 3},
		{ptrTag, 0, 1, 1, 1, 5, 9},                                                   // dataOff past entryLen
		append([]byte{ptrTag, 0}, bytes.Repeat([]byte{0xff}, 11)...),                 // varint overflow
		append([]byte{ptrTag, 0, 0x80, 0x80}, 0),                                     // non-minimal varint
		append(appendPtr(nil, segPtr{seg: 3, entryLen: 5, dataOff: 2}), 1, 2, 3),     // trailing bytes
		encodeLog(nil, &raft.Log{Type: raft.LogCommand, Term: 3, Data: []byte("x")}), // an inline entry
	} {
		f.Add(b, uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), byte(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, term, seg, off, entryLen, dataOff uint64, typ byte) {
		if p, err := decodePtr(b); err == nil {
			if !isPtr(b) || p.dataOff > p.entryLen || p.entryLen > maxEntryLen {
				t.Fatalf("decoded %+v from %x", p, b)
			}
			if q, err := decodePtr(appendPtr(nil, p)); err != nil || q != p {
				t.Fatalf("%+v re-encoded decodes to %+v, %v", p, q, err)
			}
		}
		p := segPtr{seg: seg, off: off, term: term, entryLen: entryLen, dataOff: dataOff, typ: raft.LogType(typ)}
		enc := appendPtr([]byte("prefix"), p)[len("prefix"):]
		if !isPtr(enc) {
			t.Fatalf("%x is not a pointer", enc)
		}
		q, err := decodePtr(enc)
		switch {
		case dataOff > entryLen && err == nil:
			t.Fatalf("accepted data offset %d past entry length %d", dataOff, entryLen)
		case entryLen > maxEntryLen && err == nil:
			t.Fatalf("accepted entry length %d over %d", entryLen, maxEntryLen)
		case dataOff <= entryLen && entryLen <= maxEntryLen && (err != nil || q != p):
			t.Fatalf("%+v round-trips to %+v, %v", p, q, err)
		}
		// Every strict prefix of a pointer is rejected.
		for n := range len(enc) {
			if _, err := decodePtr(enc[:n]); err == nil {
				t.Fatalf("prefix %x of %x accepted", enc[:n], enc)
			}
		}
		// An inline entry is never taken for a pointer.
		if isPtr(encodeLog(nil, &raft.Log{Type: raft.LogType(typ % 8), Term: term, Data: b})) {
			t.Fatal("an inline entry looks like a pointer")
		}
	})
}

// TestSegmentsConcurrentReadsManyFiles reads a partition of many more
// segments than a partition keeps open, from several goroutines at once, with
// nothing removed: every read returns exactly the batches asked for, and
// every Raft read succeeds (a file closed to open another is not a segment
// removed by retention).
func TestSegmentsConcurrentReadsManyFiles(t *testing.T) {
	const limit = 4 << 10
	const group = 61
	s := openSegStore(t, vfs.NewMem(), "/data", "", limit)
	defer s.Close()
	p := openTestPartition(t, s, group)
	defer p.Close()
	var l segLog
	for i := range 120 {
		l.append(t, p, segTestBatch(t, i, 1+i%3, 600))
	}
	if ids := listSegments(t, s.fs, s.groupSegDir(group)); len(ids) < 4*maxOpenSegments {
		t.Fatalf("only %d segments", len(ids))
	}
	var wg sync.WaitGroup
	for r := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for range 600 {
				i := rng.IntN(len(l.want))
				n := min(3, len(l.want)-i)
				size := 0
				for _, b := range l.want[i : i+n] {
					size += len(b)
				}
				buf, err := p.Read(l.base[i], ReadOptions{MaxBytes: size}, nil)
				if err != nil {
					t.Errorf("read batch %d: %v", i, err)
					return
				}
				hs, _ := protocol.ValidateBatches(buf)
				if len(hs) != n {
					t.Errorf("read from batch %d: %d batches, want %d", i, len(hs), n)
					return
				}
				for j, h := range hs {
					if h.BaseOffset != l.base[i+j] {
						t.Errorf("read from batch %d: batch %d at %d, want %d", i, j, h.BaseOffset, l.base[i+j])
						return
					}
				}
			}
		}()
	}
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 8))
			for range 600 {
				i := rng.IntN(len(l.want))
				var out raft.Log
				if err := p.log.GetLog(l.idx[i], &out); err != nil || !sameBatch(out.Data, l.want[i]) {
					t.Errorf("raft entry %d of batch %d: %v", l.idx[i], i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
