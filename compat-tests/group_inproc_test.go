package compat_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// In-process group members (franz-go, sarama, kafka-go) dial through a killableNet, so a
// member can be killed the way a crashed process dies: its connections close and new
// ones are refused, so it cannot send LeaveGroup or heartbeat, and the broker must
// notice by the session timeout.

type killableNet struct {
	mu     sync.Mutex
	dead   bool
	conns  []net.Conn
	dialer net.Dialer
}

func (n *killableNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead {
		return nil, errors.New("killed")
	}
	c, err := n.dialer.DialContext(ctx, network, addr)
	if err == nil {
		n.conns = append(n.conns, c)
	}
	return c, err
}

// Dial is the golang.org/x/net/proxy.Dialer method (sarama's Net.Proxy.Dialer).
func (n *killableNet) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.DialContext(ctx, network, addr)
}

func (n *killableNet) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dead = true
	for _, c := range n.conns {
		c.Close()
	}
}

const inprocStopTimeout = 20 * time.Second

// inprocMember runs a client's consume loop in a goroutine. The loop reads and commits
// until its context ends, committing nothing while held; closeClient leaves the group.
type inprocMember struct {
	id          string
	net         *killableNet
	held        atomic.Bool
	cancel      context.CancelFunc
	done        chan struct{}
	closeClient func() error
	stopped     atomic.Bool
}

// startInproc runs loop for member id and stops it, if still running, when g.t ends.
func startInproc(g *groupRun, id string, n *killableNet, loop func(ctx context.Context, m *inprocMember), closeClient func() error) *inprocMember {
	ctx, cancel := context.WithCancel(context.Background())
	m := &inprocMember{id: id, net: n, cancel: cancel, done: make(chan struct{}), closeClient: closeClient}
	go func() {
		defer close(m.done)
		loop(ctx, m)
	}()
	g.t.Cleanup(func() {
		if m.stopped.Swap(true) {
			return
		}
		m.cancel()
		m.waitLoop()
		runBounded(timeoutCtx(inprocStopTimeout), "close", m.closeClient)
	})
	return m
}

func (m *inprocMember) hold() error {
	m.held.Store(true)
	return nil
}

func (m *inprocMember) leave() error {
	m.stopped.Store(true)
	m.cancel()
	if err := m.waitLoop(); err != nil {
		return err
	}
	return runBounded(timeoutCtx(inprocStopTimeout), "close the client", m.closeClient)
}

func (m *inprocMember) kill() error {
	m.stopped.Store(true)
	m.net.kill()
	m.cancel()
	err := m.waitLoop()
	// Closing cannot reach the broker; it only frees the client's resources.
	go m.closeClient()
	return err
}

func (m *inprocMember) waitLoop() error {
	select {
	case <-m.done:
		return nil
	case <-time.After(inprocStopTimeout):
		return fmt.Errorf("member %s: consume loop still running %v after it was told to stop", m.id, inprocStopTimeout)
	}
}

func timeoutCtx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	time.AfterFunc(d, cancel)
	return ctx
}

// nextOffsets returns, per partition, one past the highest offset read.
func nextOffsets[R any](recs []R, at func(R) (int32, int64)) map[int32]int64 {
	next := map[int32]int64{}
	for _, r := range recs {
		p, o := at(r)
		next[p] = max(next[p], o+1)
	}
	return next
}
