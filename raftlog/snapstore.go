package raftlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// kindSnapshot holds a group's latest Raft snapshot. Skiff's FSM state lives in
// Pebble already, so snapshots are small (meta only) and one key is enough.
const kindSnapshot = 'n'

// snapshotStore is a raft.SnapshotStore that keeps the latest snapshot of one
// group in the node's Pebble.
type snapshotStore struct {
	db    *pebble.DB
	group uint64
}

type storedSnapshot struct {
	Meta raft.SnapshotMeta
	Data []byte
}

var _ raft.SnapshotStore = (*snapshotStore)(nil)

func (s *snapshotStore) key() []byte { return groupPrefix(s.group, kindSnapshot) }

func (s *snapshotStore) Create(version raft.SnapshotVersion, index, term uint64,
	configuration raft.Configuration, configurationIndex uint64, _ raft.Transport) (raft.SnapshotSink, error) {
	id := fmt.Sprintf("%d-%d-%d", term, index, time.Now().UnixMilli())
	return &snapshotSink{store: s, meta: raft.SnapshotMeta{
		Version: version, ID: id, Index: index, Term: term,
		Configuration: configuration, ConfigurationIndex: configurationIndex,
	}}, nil
}

func (s *snapshotStore) load() (*storedSnapshot, error) {
	v, ok, err := (&Store{db: s.db}).get(s.key())
	if err != nil || !ok {
		return nil, err
	}
	var ss storedSnapshot
	if err := json.Unmarshal(v, &ss); err != nil {
		return nil, fmt.Errorf("group %d snapshot: %w", s.group, err)
	}
	return &ss, nil
}

func (s *snapshotStore) List() ([]*raft.SnapshotMeta, error) {
	ss, err := s.load()
	if err != nil || ss == nil {
		return nil, err
	}
	return []*raft.SnapshotMeta{&ss.Meta}, nil
}

func (s *snapshotStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	ss, err := s.load()
	if err != nil {
		return nil, nil, err
	}
	if ss == nil || ss.Meta.ID != id {
		return nil, nil, errors.New("snapshot not found: " + id)
	}
	return &ss.Meta, io.NopCloser(bytes.NewReader(ss.Data)), nil
}

type snapshotSink struct {
	store *snapshotStore
	meta  raft.SnapshotMeta
	buf   bytes.Buffer
}

func (k *snapshotSink) Write(p []byte) (int, error) { return k.buf.Write(p) }
func (k *snapshotSink) ID() string                  { return k.meta.ID }
func (k *snapshotSink) Cancel() error               { return nil }

func (k *snapshotSink) Close() error {
	k.meta.Size = int64(k.buf.Len())
	v, err := json.Marshal(storedSnapshot{Meta: k.meta, Data: k.buf.Bytes()})
	if err != nil {
		return err
	}
	return k.store.db.Set(k.store.key(), v, pebble.Sync)
}
