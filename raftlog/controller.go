package raftlog

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ControllerGroup is the Raft group id of the cluster metadata.
const ControllerGroup = 0

// TopicMeta is one topic in the cluster metadata.
type TopicMeta struct {
	Name string
	ID   [16]byte
	// Groups holds the Raft group id of each partition, by partition number.
	Groups      []uint64
	Replication int16
	Configs     map[string]string // only explicitly set configs
	CreatedAt   time.Time
}

// ClusterMeta is the state of the controller FSM.
type ClusterMeta struct {
	ClusterID      string
	Topics         map[string]*TopicMeta
	NextGroup      uint64
	NextProducerID int64
	Applied        uint64
	// Modules and Transforms are the SmartModules stored in the cluster
	// and the topic-to-topic deployments (controller_modules.go).
	Modules    map[string]*ModuleMeta    `json:",omitempty"`
	Transforms map[string]*TransformMeta `json:",omitempty"`
}

// Controller owns the cluster metadata through the controller Raft group.
// Every node reads it; only the leader changes it.
type Controller struct {
	raft *raft.Raft
	fsm  *controllerFSM
}

// OpenController starts (or resumes) the controller group of this node.
func OpenController(s *Store, o GroupOptions) (*Controller, error) {
	fsm := &controllerFSM{db: s.db}
	if err := fsm.load(); err != nil {
		return nil, fmt.Errorf("load cluster metadata: %w", err)
	}
	r, _, err := startGroup(s, ControllerGroup, fsm, o)
	if err != nil {
		return nil, err
	}
	return &Controller{raft: r, fsm: fsm}, nil
}

// WaitLeader blocks until the controller has a leader on this node.
func (c *Controller) WaitLeader(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for c.raft.State() != raft.Leader {
		if time.Now().After(deadline) {
			return errors.New("controller has no leader: is this node part of the cluster?")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c.raft.Barrier(timeout).Error()
}

// OnChange registers fn to run (on the FSM goroutine, so quickly) after each
// metadata change.
func (c *Controller) OnChange(fn func()) {
	c.fsm.mu.Lock()
	c.fsm.onChange = fn
	c.fsm.mu.Unlock()
}

// Meta returns a deep copy of the cluster metadata.
func (c *Controller) Meta() ClusterMeta {
	c.fsm.mu.Lock()
	defer c.fsm.mu.Unlock()
	m := c.fsm.state
	m.Topics = make(map[string]*TopicMeta, len(c.fsm.state.Topics))
	for k, t := range c.fsm.state.Topics {
		m.Topics[k] = t.clone()
	}
	m.Modules = make(map[string]*ModuleMeta, len(c.fsm.state.Modules))
	for k, mod := range c.fsm.state.Modules {
		cp := *mod
		m.Modules[k] = &cp
	}
	m.Transforms = make(map[string]*TransformMeta, len(c.fsm.state.Transforms))
	for k, t := range c.fsm.state.Transforms {
		m.Transforms[k] = t.clone()
	}
	return m
}

// Topic returns a copy of one topic's metadata.
func (c *Controller) Topic(name string) (*TopicMeta, bool) {
	c.fsm.mu.Lock()
	defer c.fsm.mu.Unlock()
	t, ok := c.fsm.state.Topics[name]
	if !ok {
		return nil, false
	}
	return t.clone(), true
}

func (t *TopicMeta) clone() *TopicMeta {
	c := *t
	c.Groups = append([]uint64(nil), t.Groups...)
	c.Configs = maps.Clone(t.Configs)
	return &c
}

// ctrlCmd is one controller Raft entry (JSON: metadata changes are rare).
type ctrlCmd struct {
	Op         string             `json:"op"`
	Topic      string             `json:"topic,omitempty"`
	ID         [16]byte           `json:"id,omitempty"`
	Partitions int32              `json:"partitions,omitempty"`
	RF         int16              `json:"rf,omitempty"`
	Configs    map[string]*string `json:"configs,omitempty"`
	Replace    bool               `json:"replace,omitempty"`
	Now        time.Time          `json:"now"`
	Module     *ModuleMeta        `json:"module,omitempty"`
	Transform  *TransformMeta     `json:"transform,omitempty"`
	Name       string             `json:"name,omitempty"`
	Paused     bool               `json:"paused,omitempty"`
}

type ctrlResult struct {
	err   error
	topic *TopicMeta
	pid   int64
}

func (c *Controller) apply(cmd ctrlCmd) ctrlResult {
	if c.raft.State() != raft.Leader {
		return ctrlResult{err: kerr.NotController}
	}
	cmd.Now = time.Now()
	data, err := json.Marshal(cmd)
	if err != nil {
		return ctrlResult{err: err}
	}
	f := c.raft.Apply(data, 10*time.Second)
	if err := f.Error(); err != nil {
		return ctrlResult{err: raftErr(err)}
	}
	r, _ := f.Response().(ctrlResult)
	return r
}

// CreateTopic adds a topic with the given partitions and explicit configs.
func (c *Controller) CreateTopic(name string, partitions int32, rf int16, configs map[string]string) (*TopicMeta, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	r := c.apply(ctrlCmd{Op: "create-topic", Topic: name, ID: id, Partitions: partitions, RF: rf, Configs: cfg})
	return r.topic, r.err
}

// DeleteTopic removes a topic from the metadata; the broker then deletes its
// partitions' data.
func (c *Controller) DeleteTopic(name string) error {
	return c.apply(ctrlCmd{Op: "delete-topic", Topic: name}).err
}

// CreatePartitions grows a topic to total partitions.
func (c *Controller) CreatePartitions(name string, total int32) error {
	return c.apply(ctrlCmd{Op: "create-partitions", Topic: name, Partitions: total}).err
}

// SetConfigs changes topic configs: a nil value deletes the key. With
// replace, configs not named are removed (AlterConfigs semantics).
func (c *Controller) SetConfigs(name string, configs map[string]*string, replace bool) error {
	return c.apply(ctrlCmd{Op: "set-configs", Topic: name, Configs: configs, Replace: replace}).err
}

// AllocateProducerID hands out a cluster-unique producer id.
func (c *Controller) AllocateProducerID() (int64, error) {
	r := c.apply(ctrlCmd{Op: "alloc-pid"})
	return r.pid, r.err
}

// Close stops the controller group.
func (c *Controller) Close() error { return c.raft.Shutdown().Error() }

type controllerFSM struct {
	db       *pebble.DB
	mu       sync.Mutex
	state    ClusterMeta
	onChange func()

	// Set by Apply for applyCmd: the Pebble batch the change is written
	// in, and the entry's Extensions (a module's bytes).
	pendingBatch *pebble.Batch
	pendingWasm  []byte

	// modulesGen counts changes of stored SmartModules since start, so
	// users of built chains can tell cheaply when to build them again.
	modulesGen atomic.Uint64
}

func (f *controllerFSM) key() []byte { return groupPrefix(ControllerGroup, kindCtrl) }

func (f *controllerFSM) load() error {
	v, ok, err := (&Store{db: f.db}).get(f.key())
	if err != nil {
		return err
	}
	f.state = ClusterMeta{Topics: map[string]*TopicMeta{}, NextGroup: 1, NextProducerID: 1000}
	if ok {
		if err := json.Unmarshal(v, &f.state); err != nil {
			return err
		}
	}
	if f.state.ClusterID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		f.state.ClusterID = fmt.Sprintf("skiff-%x", b[:8])
	}
	return nil
}

func (f *controllerFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	if l.Index <= f.state.Applied {
		f.mu.Unlock()
		return ctrlResult{err: errReplayed}
	}
	f.state.Applied = l.Index
	var cmd ctrlCmd
	var res ctrlResult
	b := f.db.NewBatch()
	defer b.Close()
	f.pendingBatch, f.pendingWasm = b, l.Extensions
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		res.err = fmt.Errorf("bad controller command: %w", err)
	} else {
		res = f.applyCmd(cmd)
	}
	f.pendingBatch, f.pendingWasm = nil, nil
	v, err := json.Marshal(f.state)
	onChange := f.onChange
	f.mu.Unlock()
	if err == nil {
		// Synced: metadata changes are rare and must not be re-applied
		// out of order with partition data deletes.
		err = b.Set(f.key(), v, nil)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		panic(fmt.Sprintf("controller: write metadata: %v", err))
	}
	if onChange != nil && res.err == nil {
		onChange()
	}
	return res
}

func (f *controllerFSM) applyCmd(cmd ctrlCmd) ctrlResult {
	s := &f.state
	t := s.Topics[cmd.Topic]
	switch cmd.Op {
	case "create-topic":
		if t != nil {
			return ctrlResult{err: kerr.TopicAlreadyExists}
		}
		t = &TopicMeta{Name: cmd.Topic, ID: cmd.ID, Replication: cmd.RF, Configs: map[string]string{}, CreatedAt: cmd.Now}
		for range cmd.Partitions {
			t.Groups = append(t.Groups, s.NextGroup)
			s.NextGroup++
		}
		for k, v := range cmd.Configs {
			if v != nil {
				t.Configs[k] = *v
			}
		}
		s.Topics[cmd.Topic] = t
		return ctrlResult{topic: t.clone()}
	case "alloc-pid":
		s.NextProducerID++
		return ctrlResult{pid: s.NextProducerID - 1}
	case "put-module", "delete-module", "put-transform", "delete-transform", "pause-transform":
		return f.applyModuleCmd(cmd)
	}
	if t == nil {
		return ctrlResult{err: kerr.UnknownTopicOrPartition}
	}
	switch cmd.Op {
	case "delete-topic":
		delete(s.Topics, cmd.Topic)
	case "create-partitions":
		if int(cmd.Partitions) <= len(t.Groups) {
			return ctrlResult{err: kerr.InvalidPartitions}
		}
		for len(t.Groups) < int(cmd.Partitions) {
			t.Groups = append(t.Groups, s.NextGroup)
			s.NextGroup++
		}
	case "set-configs":
		if cmd.Replace {
			t.Configs = map[string]string{}
		}
		for k, v := range cmd.Configs {
			if v == nil {
				delete(t.Configs, k)
			} else {
				t.Configs[k] = *v
			}
		}
	default:
		return ctrlResult{err: fmt.Errorf("unknown controller op %q", cmd.Op)}
	}
	return ctrlResult{topic: t.clone()}
}

func (f *controllerFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	v, err := json.Marshal(f.state)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &metaSnapshot{db: f.db, meta: v}, nil
}

func (f *controllerFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	v, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := json.Unmarshal(v, &f.state); err != nil {
		return err
	}
	return f.db.Set(f.key(), v, pebble.Sync)
}

// Groups lists the ids of the Raft groups that have data in the store, so the
// broker can remove the data of groups that no topic owns (a crash between a
// topic delete and its data delete).
func (s *Store) Groups() ([]uint64, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []uint64
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) < 8 {
			valid = it.Next()
			continue
		}
		g := keySuffix(k[:8])
		out = append(out, g)
		valid = it.SeekGE(groupKey(g+1, 0, 0)[:8])
	}
	return out, it.Error()
}
