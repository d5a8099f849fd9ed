package raftlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

// Tests of a group's log (groupLog) over segments: inline entries of old
// data folders, Raft suffix truncation, the pointer codec, corruption.

// openTestGroupLog opens a group's log on s, with or without segments.
func openTestGroupLog(t testing.TB, s *Store, group uint64, segmented bool) *groupLog {
	t.Helper()
	l, err := newGroupLog(s, group, segmented)
	if err != nil {
		t.Fatal(err)
	}
	return l
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
	old := openTestGroupLog(t, s, group, false)
	inline := segTestLogs(1, 20, 0)
	storeInBatches(t, old, inline, 3)
	if ids := listSegments(t, fs, s.groupSegDir(group)); len(ids) != 0 {
		t.Fatalf("inline entries wrote segments %v", ids)
	}
	checkGetLogs(t, old, inline)

	gl := openTestGroupLog(t, s, group, true)
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
	old2 := openTestGroupLog(t, s, group2, false)
	inline2 := segTestLogs(1, 10, 3)
	storeInBatches(t, old2, inline2, 5)
	gl2 := openTestGroupLog(t, s, group2, true)
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
	gl = openTestGroupLog(t, s, group, true)
	defer gl.close()
	checkRange(t, gl, cut, 62)
	checkGetLogs(t, gl, all[cut-1:])
	gl2 = openTestGroupLog(t, s, group2, true)
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
	gl := openTestGroupLog(t, s, group, true)
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
	gl = openTestGroupLog(t, s, group, true)
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

// TestSegmentGetLogDetectsCorruption flips a byte of a stored entry on disk:
// Raft's read of it (GetLog) fails with a CRC error instead of returning
// different bytes, and the entries around it still read.
func TestSegmentGetLogDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	defer s.Close()
	l := openTestGroupLog(t, s, 7, true)
	defer l.close()
	var logs []*raft.Log
	for i := uint64(1); i <= 3; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 2, Type: raft.LogCommand, Data: []byte(strings.Repeat(string(rune('a'+i)), 100))})
	}
	if err := l.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "segments", "0000000000000007", segmentName(1))
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), strings.Repeat("c", 100)) // entry 2's data
	if i < 0 {
		t.Fatal("entry 2 not found in the segment file")
	}
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), int64(i+50)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out raft.Log
	if err := l.GetLog(2, &out); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("GetLog of a corrupted entry: %v, want a CRC error", err)
	}
	for _, i := range []uint64{1, 3} {
		if err := l.GetLog(i, &out); err != nil || string(out.Data) != string(logs[i-1].Data) || out.Term != 2 {
			t.Fatalf("GetLog(%d): %v %q", i, err, out.Data)
		}
	}
}
