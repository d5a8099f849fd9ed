package raftlog

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// GroupOptions say how to run one Raft group on this node.
type GroupOptions struct {
	// NodeID is this node's Raft server id (the Kafka broker id as text).
	NodeID string
	// LogOutput receives hashicorp/raft's own warnings; nil discards them.
	LogOutput io.Writer
	// trailingLogs, when set, lets Raft drop log entries older than the
	// last snapshot minus this many: for groups whose FSM holds all of
	// their state (the offsets group), unlike partitions.
	trailingLogs uint64
	// segmented keeps the group's entries in segment files (partitions).
	segmented bool
}

// startGroup starts (or resumes) the Raft group with the given FSM. A group
// with no state is bootstrapped with this node as its only voter; a replicated
// group gets more voters from the controller (not yet: single node).
//
// The transport is in-memory until replication lands: a single voter never
// sends a message. Decision 6 of DESIGN.md (one multiplexed Raft port per
// node) replaces it then.
func startGroup(s *Store, group uint64, fsm raft.FSM, o GroupOptions) (*raft.Raft, *groupLog, error) {
	logs, err := newGroupLog(s, group, o.segmented)
	if err != nil {
		return nil, nil, fmt.Errorf("open raft log of group %d: %w", group, err)
	}
	snaps := &snapshotStore{db: s.db, group: group}
	addr := raft.ServerAddress(fmt.Sprintf("node-%s/group-%d", o.NodeID, group))
	_, trans := raft.NewInmemTransport(addr)

	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(o.NodeID)
	// A single voter elects itself after one heartbeat timeout: keep it short
	// so a partition is writable within ~50-100 ms of start.
	c.HeartbeatTimeout = 50 * time.Millisecond
	c.ElectionTimeout = 50 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.BatchApplyCh = true
	c.MaxAppendEntries = 1024
	// The Raft log is the partition log: Raft must never compact it.
	// Retention removes batches instead (see Partition.reclaim).
	c.TrailingLogs = math.MaxUint64
	if o.trailingLogs > 0 {
		c.TrailingLogs = o.trailingLogs
	}
	c.SnapshotInterval = 10 * time.Second
	c.SnapshotThreshold = 4096
	// FSM state is in Pebble; a snapshot only bounds the replay on start.
	c.NoSnapshotRestoreOnStart = true
	out := o.LogOutput
	if out == nil {
		out = io.Discard
	}
	c.Logger = hclog.New(&hclog.LoggerOptions{
		Name:   fmt.Sprintf("raft.group-%d", group),
		Level:  hclog.Error, // elections of single-voter groups at start are routine
		Output: out,
	})

	existing, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		return nil, nil, err
	}
	if !existing {
		cfg := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: c.LocalID, Address: addr}}}
		if err := raft.BootstrapCluster(c, logs, logs, snaps, trans, cfg); err != nil {
			return nil, nil, fmt.Errorf("bootstrap raft group %d: %w", group, err)
		}
	}
	r, err := raft.NewRaft(c, fsm, logs, logs, snaps, trans)
	if err != nil {
		return nil, nil, fmt.Errorf("start raft group %d: %w", group, err)
	}
	return r, logs, nil
}
