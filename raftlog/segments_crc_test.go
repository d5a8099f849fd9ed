package raftlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// TestSegmentGetLogDetectsCorruption flips a byte of a stored entry on disk:
// Raft's read of it (GetLog) fails with a CRC error instead of returning
// different bytes, and the entries around it still read.
func TestSegmentGetLogDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, nil, dir)
	defer s.Close()
	l, err := newGroupLog(s, 7, true)
	if err != nil {
		t.Fatal(err)
	}
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
