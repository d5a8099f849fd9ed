package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffstream/skiff/raftlog"
)

// Broker is one Skiff node: the Kafka listener, the node's store, the
// controller group and the partitions this node hosts.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics

	ln       net.Listener
	store    *raftlog.Store
	ctrl     *raftlog.Controller
	view     atomic.Pointer[topicView]
	ready    chan struct{} // closed once storage and partitions are open
	readyOK  atomic.Bool
	startErr error

	mu    sync.Mutex // serialises reconcile
	parts map[uint64]*raftlog.Partition

	sessions *fetchSessions
	groups   *coordinator  // consumer groups (groups.go)
	sm       *smartModules // SmartModules (smartmodules.go)
	deploys  *deployments  // topic-to-topic transforms (transform_deploy.go)

	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	connMu    sync.Mutex
	conns     map[net.Conn]struct{}
}

// topicView is an immutable snapshot of the topics and their open partitions
// that request handlers read without locks; reconcile swaps it.
type topicView struct {
	byName map[string]*topicState
	byID   map[[16]byte]*topicState
}

type topicState struct {
	meta  *raftlog.TopicMeta
	parts []*raftlog.Partition
	cfg   topicConfig
}

// New prepares a broker; Start opens storage and begins serving.
func New(cfg Config) *Broker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Advertise == "" {
		cfg.Advertise = cfg.Listen
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  NewMetrics(),
		ready:    make(chan struct{}),
		parts:    map[uint64]*raftlog.Partition{},
		sessions: newFetchSessions(),
		ctx:      ctx,
		cancel:   cancel,
		conns:    map[net.Conn]struct{}{},
	}
	b.view.Store(&topicView{byName: map[string]*topicState{}, byID: map[[16]byte]*topicState{}})
	b.sm = newSmartModules(b)
	b.deploys = newDeployments(b)
	return b
}

// Metrics is the broker's Prometheus registry.
func (b *Broker) Metrics() *Metrics { return b.metrics }

// Addr is the address the Kafka listener is bound to.
func (b *Broker) Addr() net.Addr { return b.ln.Addr() }

// Ready reports whether storage is open and partitions are loaded.
func (b *Broker) Ready() bool { return b.readyOK.Load() }

// Start binds the Kafka listener first, so ApiVersions is answered at once
// whatever the data size, then opens storage and partitions in the
// background. Requests other than ApiVersions wait until that is done.
func (b *Broker) Start() error {
	ln, err := net.Listen("tcp", b.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another broker running? pick another port with --listen)", b.cfg.Listen, err)
	}
	b.ln = ln
	b.cfg.Advertise = advertised(b.cfg.Advertise, ln.Addr().(*net.TCPAddr).Port)
	b.wg.Add(1)
	go b.acceptLoop()
	go b.open()
	return nil
}

// WaitReady blocks until storage is open or fails.
func (b *Broker) WaitReady(ctx context.Context) error {
	select {
	case <-b.ready:
		return b.startErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Broker) open() {
	defer close(b.ready)
	start := time.Now()
	if err := b.openStorage(); err != nil {
		b.startErr = err
		b.log.Error("storage failed to open", "err", err)
		return
	}
	b.readyOK.Store(true)
	b.log.Info("ready", "topics", len(b.view.Load().byName), "partitions", len(b.parts), "took", time.Since(start).Round(time.Millisecond))
	b.wg.Add(2)
	go b.retentionLoop()
	go b.offsetsExpiryLoop()
}

func (b *Broker) openStorage() error {
	dir := filepath.Join(b.cfg.DataDir, "pebble")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	raftlog.SetLogger(b.log.With("component", "pebble"))
	store, err := raftlog.OpenStore(dir, raftlog.StoreOptions{SegmentDir: filepath.Join(b.cfg.DataDir, "segments")})
	if err != nil {
		return err
	}
	b.store = store
	ctrl, err := raftlog.OpenController(store, b.groupOptions())
	if err != nil {
		return err
	}
	b.ctrl = ctrl
	if err := ctrl.WaitLeader(10 * time.Second); err != nil {
		return err
	}
	if err := b.openGroups(); err != nil {
		return err
	}
	if err := b.reconcile(); err != nil {
		return err
	}
	return b.removeOrphanGroups()
}

func (b *Broker) groupOptions() raftlog.GroupOptions {
	return raftlog.GroupOptions{NodeID: strconv.Itoa(int(b.cfg.NodeID)), LogOutput: slogWriter{b.log.With("component", "raft")}}
}

// reconcile opens the partitions the metadata names and this node lacks,
// deletes those it no longer names, and publishes a new topic view.
func (b *Broker) reconcile() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	meta := b.ctrl.Meta()
	want := map[uint64]bool{}
	var toOpen []uint64
	for _, t := range meta.Topics {
		for _, g := range t.Groups {
			want[g] = true
			if b.parts[g] == nil {
				toOpen = append(toOpen, g)
			}
		}
	}
	var (
		wg    sync.WaitGroup
		omu   sync.Mutex
		first error
	)
	for _, g := range toOpen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := raftlog.OpenPartition(b.store, g, b.groupOptions())
			if err == nil && !p.WaitLeader(10*time.Second) {
				err = fmt.Errorf("partition group %d elected no leader", g)
			}
			omu.Lock()
			defer omu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			b.parts[g] = p
		}()
	}
	wg.Wait()
	for g, p := range b.parts {
		if !want[g] {
			if err := p.Delete(); err != nil {
				b.log.Error("delete partition data", "group", g, "err", err)
			}
			delete(b.parts, g) // fetch sessions then see the partition as unknown
		}
	}
	v := &topicView{byName: map[string]*topicState{}, byID: map[[16]byte]*topicState{}}
	for name, t := range meta.Topics {
		ts := &topicState{meta: t, cfg: b.parseTopicConfig(t.Configs), parts: make([]*raftlog.Partition, len(t.Groups))}
		for i, g := range t.Groups {
			ts.parts[i] = b.parts[g]
			if p := ts.parts[i]; p != nil && !ts.isView() {
				p.SetSegmentBytes(ts.cfg.segmentBytes)
			}
		}
		v.byName[name] = ts
		v.byID[t.ID] = ts
	}
	for _, ts := range v.byName {
		if src := v.byName[ts.meta.Configs[cfgViewOf]]; src != nil && ts.isView() {
			ts.parts = src.parts // a view reads its source's partitions
		}
	}
	b.sm.prune(v.byName)
	b.view.Store(v)
	if b.deploys != nil {
		b.deploys.reconcile()
	}
	return first
}

// removeOrphanGroups deletes data of groups no topic owns: what a crash
// between a topic delete and its data removal leaves behind.
func (b *Broker) removeOrphanGroups() error {
	groups, err := b.store.Groups()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, g := range groups {
		if g == raftlog.ControllerGroup || g == raftlog.OffsetsGroup || b.parts[g] != nil {
			continue
		}
		b.log.Info("removing data of deleted partition", "group", g)
		if err := b.store.DeleteGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// topic returns the current state of a topic, or nil.
func (b *Broker) topic(name string) *topicState { return b.view.Load().byName[name] }

// Close stops serving, then stops every Raft group and closes the store.
// Calling it again returns the first result.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Broker) close() error {
	b.cancel()
	if b.ln != nil {
		b.ln.Close()
	}
	b.connMu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.connMu.Unlock()
	<-b.ready
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	b.deploys.stop()
	b.sm.close()
	if b.groups != nil {
		errs = append(errs, b.groups.close())
	}
	for _, p := range b.parts {
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.ctrl != nil {
		errs = append(errs, b.ctrl.Close())
	}
	if b.store != nil {
		errs = append(errs, b.store.Close())
	}
	return errors.Join(errs...)
}

// advertised fills in what clients are told: the bound port for port 0, and
// the host name (as Kafka does) for a wildcard address like 0.0.0.0.
func advertised(addr string, boundPort int) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if port == "0" {
		port = strconv.Itoa(boundPort)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

// slogWriter turns hashicorp/raft's log lines into slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	w.l.Warn(msg)
	return len(p), nil
}
