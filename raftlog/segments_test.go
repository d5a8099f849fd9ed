package raftlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"

	"github.com/skiffstream/skiff/protocol"
)

// Tests of the partitions' segment files (segments.go): roll-over, reopen,
// retention, deletion, orphans; crashes in segments_crash_test.go, the
// group log and pointers in segments_log_test.go, concurrent reads in
// segments_concurrent_test.go. The helpers here serve all four.

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
		if errors.Is(err, os.ErrNotExist) {
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
	if err != nil && !errors.Is(err, os.ErrNotExist) {
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
	gl := openTestGroupLog(t, s, group, true)
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
