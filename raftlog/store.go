package raftlog

import (
	"context"
	"errors"
	"fmt"
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
	return &Store{db: db}, nil
}

// Close flushes nothing extra: every acknowledged write is already in the
// synced WAL.
func (s *Store) Close() error {
	s.compactions.Wait()
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
		return 0
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
