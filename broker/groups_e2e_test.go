package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// recordSet counts how often each record value was consumed.
type recordSet struct {
	mu   sync.Mutex
	seen map[string]int
}

func (s *recordSet) add(rs []*kgo.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.seen[string(r.Value)]++
	}
}

// missing reports the first of the n values with the prefix not consumed
// exactly once.
func (s *recordSet) check(prefix string, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		if c := s.seen[fmt.Sprintf("%s-%d", prefix, i)]; c != 1 {
			return fmt.Sprintf("record %s-%d consumed %d times", prefix, i, c)
		}
	}
	return ""
}

func (s *recordSet) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.seen {
		n += c
	}
	return n
}

// killableDialer lets a test cut a client off the network, as if its
// process died: open connections close and new ones are refused, so it
// cannot even say goodbye (LeaveGroup).
type killableDialer struct {
	mu     sync.Mutex
	dead   bool
	conns  []net.Conn
	dialer net.Dialer
}

func (d *killableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		return nil, errors.New("killed")
	}
	c, err := d.dialer.DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *killableDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
}

// groupMember is a kgo group consumer that commits synchronously after
// each poll, with rebalances blocked while it processes, so each record is
// counted exactly once across rebalances.
type groupMember struct {
	cl   *kgo.Client
	net  *killableDialer
	stop chan struct{}
	done chan struct{}
}

func startMember(t *testing.T, addr, group, topic string, seen *recordSet) *groupMember {
	t.Helper()
	m := &groupMember{net: &killableDialer{}, stop: make(chan struct{}), done: make(chan struct{})}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.Dialer(m.net.dial),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(time.Second), kgo.HeartbeatInterval(100*time.Millisecond), kgo.RebalanceTimeout(5*time.Second),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			fs := cl.PollFetches(ctx)
			cancel()
			if fs.IsClientClosed() {
				return
			}
			recs := fs.Records()
			if len(recs) > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := cl.CommitRecords(ctx, recs...)
				cancel()
				if err != nil {
					t.Errorf("commit: %v", err)
				} else {
					seen.add(recs)
				}
			}
			cl.AllowRebalance()
		}
	}()
	return m
}

// halt stops the poll loop after its current commit.
func (m *groupMember) halt() {
	close(m.stop)
	<-m.done
}

func produceN(t *testing.T, cl *kgo.Client, prefix string, n int) {
	t.Helper()
	for i := range n {
		cl.Produce(ctxT(t), &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := cl.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func groupMembers(t *testing.T, cl *kgo.Client, group string) (string, int) {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	g := send[*kmsg.DescribeGroupsResponse](t, cl, req).Groups[0]
	return g.State, len(g.Members)
}

// TestGroupConsumersKgo runs franz-go group consumers against the broker:
// three share a 6-partition topic, one leaves, one dies without leaving
// (its session expires), the last one finishes; after a broker restart on
// the same data the group resumes from its committed offsets.
func TestGroupConsumersKgo(t *testing.T) {
	fast := func(c *Config) {
		c.GroupInitialRebalanceDelay = 100 * time.Millisecond
		c.GroupMinSessionTimeout = 500 * time.Millisecond
	}
	tb := startTestBroker(t, "", fast)
	const topic, group, n = "e2e", "e2e-group", 300
	prod := newClient(t, tb.addr(), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	createTopic(t, prod, topic, 6)
	seen := &recordSet{seen: map[string]int{}}
	produceN(t, prod, "a", n)

	members := []*groupMember{startMember(t, tb.addr(), group, topic, seen), startMember(t, tb.addr(), group, topic, seen), startMember(t, tb.addr(), group, topic, seen)}
	defer func() {
		for _, m := range members {
			go m.cl.Close() // a killed member's close cannot reach the broker
		}
	}()
	checkFor(t, 20*time.Second, func() string {
		if msg := seen.check("a", n); msg != "" {
			return "three members: " + msg
		}
		if st, k := groupMembers(t, prod, group); st != "Stable" || k != 3 {
			return fmt.Sprintf("group %s with %d members, want Stable with 3", st, k)
		}
		return ""
	})

	// One member leaves cleanly (LeaveGroup): the other two take over.
	members[0].halt()
	members[0].cl.Close()
	produceN(t, prod, "b", n)
	checkFor(t, 20*time.Second, func() string {
		if msg := seen.check("b", n); msg != "" {
			return "after a leave: " + msg
		}
		if st, k := groupMembers(t, prod, group); st != "Stable" || k != 2 {
			return fmt.Sprintf("group %s with %d members, want Stable with 2", st, k)
		}
		return ""
	})

	// One member dies without leaving: its session expires and the last
	// member gets all six partitions.
	members[1].halt()
	members[1].net.kill()
	produceN(t, prod, "c", n)
	checkFor(t, 20*time.Second, func() string {
		if msg := seen.check("c", n); msg != "" {
			return "after a member died: " + msg
		}
		if st, k := groupMembers(t, prod, group); st != "Stable" || k != 1 {
			return fmt.Sprintf("group %s with %d members, want Stable with 1", st, k)
		}
		return ""
	})
	for _, p := range []string{"a", "b"} {
		if msg := seen.check(p, n); msg != "" {
			t.Fatal(msg)
		}
	}
	members[2].halt()
	members[2].cl.Close()
	if st, _ := groupMembers(t, prod, group); st != "Empty" {
		t.Fatalf("group %s after the last member left, want Empty", st)
	}

	// Restart the broker on the same data: a new member resumes from the
	// committed offsets and reads only what was produced since.
	prod.Close()
	dir := tb.dir
	tb.Close()
	tb2 := startTestBroker(t, dir, fast)
	prod = newClient(t, tb2.addr(), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produceN(t, prod, "d", n)
	before := seen.total()
	members = append(members, startMember(t, tb2.addr(), group, topic, seen))
	checkFor(t, 20*time.Second, func() string {
		if msg := seen.check("d", n); msg != "" {
			return "after a restart: " + msg
		}
		return ""
	})
	time.Sleep(300 * time.Millisecond) // would anything old come again?
	if got := seen.total() - before; got != n {
		t.Fatalf("after restart the group consumed %d records, want the %d new ones", got, n)
	}
}
