package raftlog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Store is the one Pebble database of a node. Every Raft group of the node
// (partitions and the controller) keeps its log, stable store and FSM state in
// it under its own key prefix.
type Store struct {
	db          *pebble.DB
	compactions sync.WaitGroup

	fs       vfs.FS
	segRoot  string
	segLimit int64
	segMu    sync.Mutex
	segs     map[uint64]*segments // open groups' segments
}

// StoreOptions tune the Pebble database. The zero value is the production
// default.
type StoreOptions struct {
	// FS is the filesystem; nil means the OS filesystem. Tests pass
	// vfs.NewCrashableMem() to simulate crashes.
	FS vfs.FS
	// MemTableSize in bytes; 0 means 64 MiB.
	MemTableSize uint64
	// CacheSize is the block cache in bytes; 0 means 64 MiB.
	CacheSize int64
	// SegmentDir holds the partitions' segment files; "" means a
	// "segments" folder inside dir.
	SegmentDir string
	// SegmentBytes is the size at which a partition's segment rolls over;
	// 0 means 64 MiB.
	SegmentBytes int64
}

// OpenStore opens (creating if needed) the Pebble database in dir.
//
// The options follow what was measured on the design machine (see
// ../shared/DESIGN.md): the newest format, a 64 MiB memtable, and value
// separation for values of 1 KiB and more, so record batches land in blob
// files and compactions move only keys and small index entries.
func OpenStore(dir string, o StoreOptions) (*Store, error) {
	if o.MemTableSize == 0 {
		o.MemTableSize = 64 << 20
	}
	if o.CacheSize == 0 {
		o.CacheSize = 64 << 20
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.SegmentDir == "" {
		o.SegmentDir = o.FS.PathJoin(dir, "segments")
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	opts := &pebble.Options{
		FS:                          o.FS,
		FormatMajorVersion:          pebble.FormatNewest,
		MemTableSize:                o.MemTableSize,
		MemTableStopWritesThreshold: 4,
		Cache:                       cache,
		// Range deletions from retention should free disk promptly.
		FlushDelayDeleteRange: 10 * time.Second,
		Logger:                quietLogger{},
	}
	opts.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:               true,
			MinimumSize:           1024,
			MaxBlobReferenceDepth: 10,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	// No block compression: batches are stored as producers sent them, as
	// Kafka does (compress in the producer). Compressing blob files at flush
	// cost ~13% of broker CPU under produce load on 2 cores.
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open pebble in %s: %w (is another skiff using this --data-dir?)", dir, err)
	}
	if err := o.FS.MkdirAll(o.SegmentDir, 0o755); err != nil {
		db.Close()
		return nil, fmt.Errorf("create segment folder %s: %w", o.SegmentDir, err)
	}
	if err := syncDir(o.FS, filepath.Dir(o.SegmentDir)); err != nil {
		db.Close()
		return nil, fmt.Errorf("sync %s: %w", filepath.Dir(o.SegmentDir), err)
	}
	st := &Store{db: db, fs: o.FS, segRoot: o.SegmentDir, segLimit: o.SegmentBytes, segs: map[uint64]*segments{}}
	if err := st.removeOrphanSegments(); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// removeOrphanSegments removes the segment folders of groups that have no
// key left in Pebble: DeleteGroup deletes the keys first, so a crash before
// the folder went leaves one behind.
func (s *Store) removeOrphanSegments() error {
	names, err := s.fs.List(s.segRoot)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.segRoot, err)
	}
	for _, n := range names {
		group, err := strconv.ParseUint(n, 16, 64)
		if err != nil || len(n) != 16 {
			continue
		}
		lo, hi := groupBounds(group)
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		live := it.First()
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return err
		}
		if !live {
			if err := s.fs.RemoveAll(s.fs.PathJoin(s.segRoot, n)); err != nil {
				return fmt.Errorf("remove segments of deleted group %d: %w", group, err)
			}
		}
	}
	return nil
}

// openSegments opens a group's segments and keeps them for DeleteGroup and
// Close.
func (s *Store) openSegments(group uint64, first, last uint64) (*segments, error) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	if old := s.segs[group]; old != nil {
		old.close()
	}
	segs, err := openSegments(s.fs, s.groupSegDir(group), s.segLimit, first, last)
	if err != nil {
		return nil, fmt.Errorf("open segments of group %d: %w", group, err)
	}
	s.segs[group] = segs
	return segs, nil
}

func (s *Store) groupSegDir(group uint64) string {
	return s.fs.PathJoin(s.segRoot, fmt.Sprintf("%016x", group))
}

// Close flushes nothing extra: every acknowledged write is already synced
// (in a segment and in the WAL).
func (s *Store) Close() error {
	s.compactions.Wait()
	s.segMu.Lock()
	for g, segs := range s.segs {
		segs.close()
		delete(s.segs, g)
	}
	s.segMu.Unlock()
	return s.db.Close()
}

// DB exposes the Pebble handle for tests and metrics.
func (s *Store) DB() *pebble.DB { return s.db }

// DeleteGroup removes every key of a group (a deleted partition) with one
// range delete, synced so a deleted topic stays deleted, then compacts the
// range in the background so the disk space is freed soon rather than at
// some later compaction.
func (s *Store) DeleteGroup(group uint64) error {
	lo, hi := groupBounds(group)
	if err := s.db.DeleteRange(lo, hi, pebble.Sync); err != nil {
		return err
	}
	// Then the segment files (a crash in between leaves a folder of a group
	// that no longer exists; removeOrphanSegments clears it at next open).
	s.segMu.Lock()
	if segs := s.segs[group]; segs != nil {
		segs.close()
		delete(s.segs, group)
	}
	s.segMu.Unlock()
	if err := s.fs.RemoveAll(s.groupSegDir(group)); err != nil {
		return fmt.Errorf("remove segments of group %d: %w", group, err)
	}
	s.compactions.Add(1)
	go func() {
		defer s.compactions.Done()
		if err := s.db.Compact(context.Background(), lo, hi, true); err != nil && !errors.Is(err, pebble.ErrClosed) {
			pebbleLogger().Warn("compact deleted partition", "group", group, "err", err)
		}
	}()
	return nil
}

// GroupSize estimates the bytes on disk used by a group.
func (s *Store) GroupSize(group uint64) uint64 {
	lo, hi := groupBounds(group)
	n, err := s.db.EstimateDiskUsage(lo, hi)
	if err != nil {
		n = 0
	}
	s.segMu.Lock()
	segs := s.segs[group]
	s.segMu.Unlock()
	if segs != nil {
		n += uint64(segs.size())
	}
	return n
}

// get copies the value of key, or returns nil, false.
func (s *Store) get(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

// quietLogger drops Pebble's informational chatter and keeps errors visible.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebbleLogger().Error(fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...any) {
	pebbleLogger().Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
