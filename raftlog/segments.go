package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

// A partition's Raft entries live in append-only segment files, one folder
// per group, and Pebble keeps a small pointer per entry (see doc.go). This
// writes each produced byte once: Pebble would write it to its WAL and again
// to a blob file at flush, and copy it into its memtable on the way.
//
// A segment file is named after the Raft index of its first entry
// (%020d.log) and holds records of
//
//	length(4) crc32c(4) raftIndex(8) entry
//
// where entry is the encoded raft.Log (encodeLog) and the CRC covers the
// index and the entry. A record is only ever read through a pointer, and a
// pointer is written (synced) only after its record is synced, so bytes past
// the last pointer (a crash mid-write) are never read; writing resumes in a
// new segment after a restart.

const (
	segHeaderSize = 16
	// defaultSegmentBytes is when a group's segment rolls over. Retention
	// frees disk a whole segment at a time, as Kafka's does.
	defaultSegmentBytes = 64 << 20
	// ptrTag starts a pointer value under an 'l' key; an inline entry starts
	// with its raft.LogType, which is far below it.
	ptrTag = 0xff
	// maxOpenSegments bounds the open files of one partition (a consumer
	// reading old data opens segments one after the other).
	maxOpenSegments = 8
	// maxEntryLen bounds what a pointer may name (a record's length is 4
	// bytes; requests are far smaller), so a corrupt one cannot make a
	// reader allocate without bound.
	maxEntryLen = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segPtr is where an entry is: in segment seg (the first Raft index of the
// file), entryLen bytes of encoded entry from off, whose Data starts dataOff
// bytes in. Term is kept so that a fetch needs no read of the entry header.
type segPtr struct {
	seg, off, term    uint64
	entryLen, dataOff uint64
	typ               raft.LogType
}

func appendPtr(dst []byte, p segPtr) []byte {
	dst = append(dst, ptrTag, byte(p.typ))
	dst = binary.AppendUvarint(dst, p.term)
	dst = binary.AppendUvarint(dst, p.seg)
	dst = binary.AppendUvarint(dst, p.off)
	dst = binary.AppendUvarint(dst, p.entryLen)
	return binary.AppendUvarint(dst, p.dataOff)
}

func isPtr(v []byte) bool { return len(v) > 0 && v[0] == ptrTag }

func decodePtr(v []byte) (segPtr, error) {
	if len(v) < 2 || v[0] != ptrTag {
		return segPtr{}, errors.New("not a segment pointer")
	}
	p := segPtr{typ: raft.LogType(v[1])}
	v = v[2:]
	for _, f := range []*uint64{&p.term, &p.seg, &p.off, &p.entryLen, &p.dataOff} {
		x, n := binary.Uvarint(v)
		if n <= 0 {
			return segPtr{}, errors.New("bad segment pointer")
		}
		*f, v = x, v[n:]
	}
	if p.dataOff > p.entryLen || p.entryLen > maxEntryLen {
		return segPtr{}, errors.New("bad segment pointer")
	}
	return p, nil
}

// segments is one group's segment files.
type segments struct {
	fs  vfs.FS
	dir string
	// direct: a large Data may be written from where it is. vfs.File.Write
	// may modify the slice it is given (Pebble's MemFS does, in race and
	// invariants builds), and Data is Raft's (and the produce request's):
	// only the OS filesystem's files, which never do, get it.
	direct bool

	// wmu serializes writers (StoreLogs, DeleteRange) and guards limit,
	// active, activeSize and buf; activeID is written under wmu and mu, so
	// either lets one read it.
	wmu        sync.Mutex
	limit      int64
	active     vfs.File // nil: the next write starts a new segment
	activeID   uint64
	activeSize int64
	buf        []byte

	// mu guards files; readers hold it shared while they read, so a file
	// is not closed under them.
	mu    sync.RWMutex
	ids   []uint64 // sorted first indexes of the files on disk
	files map[uint64]vfs.File
}

func segmentName(id uint64) string { return fmt.Sprintf("%020d.log", id) }

// openSegments lists a group's segment files. Files that no pointer can
// reference (wholly below first or above last, left by a crash between a
// pointer change and a file change) are removed.
func openSegments(fs vfs.FS, dir string, limit int64, first, last uint64) (*segments, error) {
	s := &segments{fs: fs, dir: dir, limit: limit, direct: fs == vfs.Default, files: map[uint64]vfs.File{}}
	names, err := fs.List(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, n := range names {
		id, err := strconv.ParseUint(strings.TrimSuffix(n, ".log"), 10, 64)
		if err != nil || !strings.HasSuffix(n, ".log") {
			continue
		}
		s.ids = append(s.ids, id)
	}
	slices.Sort(s.ids)
	var keep []uint64
	for i, id := range s.ids {
		end := uint64(0) // last index the file may hold; 0: unbounded
		if i+1 < len(s.ids) {
			end = s.ids[i+1] - 1
		}
		dead := last == 0 || id > last || (end != 0 && end < first)
		if dead {
			if err := fs.Remove(fs.PathJoin(dir, segmentName(id))); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			continue
		}
		keep = append(keep, id)
	}
	s.ids = keep
	return s, nil
}

// append writes logs as records to the active segment (rolling to a new one
// first if it is full) and syncs them. It returns a pointer per log.
func (s *segments) append(logs []*raft.Log, ptrs []segPtr) ([]segPtr, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	total := int64(0)
	for _, l := range logs {
		total += segHeaderSize + int64(encodedLogSize(l))
	}
	if s.active == nil || (s.activeSize > 0 && s.activeSize+total > s.limit) {
		if err := s.roll(logs[0].Index); err != nil {
			return nil, err
		}
	}
	// Headers and the small entry prefixes are gathered in buf; a large
	// Data is written from where it is (s.direct), so the bytes are copied
	// once, into the page cache.
	const direct = 32 << 10
	buf := s.buf[:0]
	off := s.activeSize
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		_, err := s.active.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, l := range logs {
		entryLen := encodedLogSize(l)
		prefixLen := entryLen - len(l.Data)
		n := len(buf)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(entryLen))
		buf = append(buf, 0, 0, 0, 0) // crc, below
		buf = binary.BigEndian.AppendUint64(buf, l.Index)
		buf = encodeLogPrefix(buf, l)
		crc := crc32.Update(0, castagnoli, buf[n+8:])
		crc = crc32.Update(crc, castagnoli, l.Data)
		binary.LittleEndian.PutUint32(buf[n+4:], crc)
		if s.direct && len(l.Data) >= direct {
			if err := flush(); err != nil {
				return nil, s.failed(err)
			}
			if _, err := s.active.Write(l.Data); err != nil {
				return nil, s.failed(err)
			}
		} else {
			buf = append(buf, l.Data...)
		}
		ptrs = append(ptrs, segPtr{seg: s.activeID, off: uint64(off) + segHeaderSize, term: l.Term,
			entryLen: uint64(entryLen), dataOff: uint64(prefixLen), typ: l.Type})
		off += segHeaderSize + int64(entryLen)
	}
	if err := flush(); err != nil {
		return nil, s.failed(err)
	}
	s.buf = buf[:0]
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	if err := s.active.SyncData(); err != nil {
		return nil, s.failed(err)
	}
	s.activeSize = off
	return ptrs, nil
}

// setLimit changes the size at which the active segment rolls over (the
// topic's segment.bytes); n <= 0 keeps the current one.
func (s *segments) setLimit(n int64) {
	if n <= 0 {
		return
	}
	s.wmu.Lock()
	s.limit = n
	s.wmu.Unlock()
}

// failed drops the active segment after a write error: what it holds past
// the last synced record is unknown, so writing goes on in a new file.
func (s *segments) failed(err error) error {
	s.active = nil
	return fmt.Errorf("write segment in %s: %w", s.dir, err)
}

// roll starts a new segment whose first entry is index first. The file and
// its folder entry are synced before any pointer can name it.
func (s *segments) roll(first uint64) error {
	if len(s.ids) == 0 {
		if err := s.fs.MkdirAll(s.dir, 0o755); err != nil {
			return err
		}
		if err := syncDir(s.fs, filepath.Dir(s.dir)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.files[first]; ok { // a dropped segment of the same name
		old.Close()
		delete(s.files, first)
	}
	f, err := s.fs.Create(s.fs.PathJoin(s.dir, segmentName(first)), vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if err := syncDir(s.fs, s.dir); err != nil {
		f.Close()
		return err
	}
	s.files[first] = f
	if !slices.Contains(s.ids, first) {
		s.ids = append(s.ids, first)
		slices.Sort(s.ids)
	}
	s.active, s.activeID, s.activeSize = f, first, 0
	return nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// errSegmentGone: the segment was removed (retention) after its pointer was
// read; the caller treats the entry as reclaimed.
var errSegmentGone = errors.New("segment removed")

// readAt fills dst from segment id at off.
func (s *segments) readAt(id uint64, dst []byte, off int64) error {
	s.mu.RLock()
	if f := s.files[id]; f != nil {
		defer s.mu.RUnlock()
		return s.read(f, id, dst, off)
	}
	s.mu.RUnlock()
	// Not open: open it and read under the exclusive lock, so that no
	// other reader's open closes it in between (rare: a consumer reaching
	// an older segment).
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.openLocked(id)
	if err != nil {
		return err
	}
	return s.read(f, id, dst, off)
}

func (s *segments) read(f vfs.File, id uint64, dst []byte, off int64) error {
	n, err := f.ReadAt(dst, off)
	if n == len(dst) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read segment %s at %d: %w", s.fs.PathJoin(s.dir, segmentName(id)), off, err)
}

// openLocked returns segment id's file, opening it for reading if it is
// still listed; s.mu is held exclusively.
func (s *segments) openLocked(id uint64) (vfs.File, error) {
	if f := s.files[id]; f != nil {
		return f, nil
	}
	if _, ok := slices.BinarySearch(s.ids, id); !ok {
		return nil, errSegmentGone
	}
	if len(s.files) >= maxOpenSegments {
		// Bound the descriptors a partition holds: close the read
		// handles (no reader holds s.mu), keep the one being written
		// (activeID is set under s.mu).
		for fid, f := range s.files {
			if fid != s.activeID {
				f.Close()
				delete(s.files, fid)
			}
		}
	}
	f, err := s.fs.Open(s.fs.PathJoin(s.dir, segmentName(id)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errSegmentGone
	}
	if err != nil {
		return nil, err
	}
	s.files[id] = f
	return f, nil
}

// readEntry reads the encoded entry of Raft index index that a pointer
// names, into a new buffer, and checks its record header and CRC (fetch reads
// only the batch, which has its own CRC; this is for Raft's reads).
func (s *segments) readEntry(p segPtr, index uint64) ([]byte, error) {
	if p.off < segHeaderSize {
		return nil, errors.New("bad segment pointer")
	}
	buf := make([]byte, segHeaderSize+p.entryLen)
	if err := s.readAt(p.seg, buf, int64(p.off-segHeaderSize)); err != nil {
		return nil, err
	}
	switch {
	case uint64(binary.LittleEndian.Uint32(buf)) != p.entryLen:
		return nil, fmt.Errorf("segment %s at %d: record length %d, pointer says %d", segmentName(p.seg), p.off, binary.LittleEndian.Uint32(buf), p.entryLen)
	case binary.BigEndian.Uint64(buf[8:]) != index:
		return nil, fmt.Errorf("segment %s at %d: record of Raft index %d, want %d", segmentName(p.seg), p.off, binary.BigEndian.Uint64(buf[8:]), index)
	case crc32.Checksum(buf[8:], castagnoli) != binary.LittleEndian.Uint32(buf[4:]):
		return nil, fmt.Errorf("segment %s at %d: CRC mismatch (corrupt on disk)", segmentName(p.seg), p.off)
	}
	return buf[segHeaderSize:], nil
}

// dropBelow removes the segments that hold only entries below first (the new
// first index; 0 removes every segment). The pointers are deleted first.
func (s *segments) dropBelow(first uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []uint64
	for i, id := range s.ids {
		next := uint64(0)
		if i+1 < len(s.ids) {
			next = s.ids[i+1]
		}
		if first != 0 && (next == 0 || next > first) {
			keep = append(keep, s.ids[i:]...)
			break
		}
		if err := s.remove(id); err != nil {
			s.ids = append(keep, s.ids[i:]...)
			return err
		}
	}
	s.ids = keep
	return nil
}

// dropFrom removes the segments that start at or after index from (a Raft
// suffix truncation) and makes the next write start a new segment, so stale
// records past the new end are never followed by live ones in one file.
func (s *segments) dropFrom(from uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active = nil
	for len(s.ids) > 0 && s.ids[len(s.ids)-1] >= from {
		if err := s.remove(s.ids[len(s.ids)-1]); err != nil {
			return err
		}
		s.ids = s.ids[:len(s.ids)-1]
	}
	return nil
}

// remove closes and deletes segment id; s.mu and s.wmu are held.
func (s *segments) remove(id uint64) error {
	if f := s.files[id]; f != nil {
		f.Close()
		delete(s.files, id)
	}
	if id == s.activeID {
		s.active = nil
	}
	err := s.fs.Remove(s.fs.PathJoin(s.dir, segmentName(id)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// close closes every open file; the files stay.
func (s *segments) close() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, f := range s.files {
		f.Close()
		delete(s.files, id)
	}
	s.active = nil
}

// size is the bytes of the group's segment files.
func (s *segments) size() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, id := range s.ids {
		if fi, err := s.fs.Stat(s.fs.PathJoin(s.dir, segmentName(id))); err == nil {
			n += fi.Size()
		}
	}
	return n
}
