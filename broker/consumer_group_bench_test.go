package broker

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// cgBenchMember is a member driven as the Java client drives one: a join,
// then a heartbeat every interval the broker gives, and one right away
// whenever its assignment changed (listing what it now owns).
type cgBenchMember struct {
	c      net.Conn
	group  string
	id     string
	epoch  int32
	owned  []kmsg.ConsumerGroupHeartbeatRequestTopic
	wait   time.Duration
	parts  atomic.Int64
	failed error
}

func (m *cgBenchMember) run(stop <-chan struct{}) {
	req := cgJoin(m.group, m.id, "bench")
	for {
		raw, err := rawRequest(m.c, req)
		if err != nil {
			m.failed = err
			return
		}
		resp := raw.(*kmsg.ConsumerGroupHeartbeatResponse)
		if resp.ErrorCode != 0 {
			m.failed = fmt.Errorf("heartbeat: %s", errName(resp.ErrorCode))
			return
		}
		m.epoch = resp.MemberEpoch
		m.wait = time.Duration(resp.HeartbeatIntervalMillis) * time.Millisecond
		req = cgReq(m.group, m.id, m.epoch)
		if resp.Assignment != nil {
			m.owned = owned(resp.Assignment)
			m.parts.Store(int64(countParts(resp.Assignment)))
			req.Topics = m.owned // acknowledge at once
			continue
		}
		select {
		case <-stop:
			return
		case <-time.After(m.wait):
		}
	}
}

// BenchmarkConsumerGroupJoin50 measures the time until every member of a
// 50-member consumer-protocol group on a 100-partition topic owns its
// partitions (the group Stable), with a 100 ms heartbeat interval (Kafka's
// default is 5 s; the time is dominated by heartbeat rounds: a partition
// moves once its owner revoked it and its new owner heartbeats).
func BenchmarkConsumerGroupJoin50(b *testing.B) {
	tb := startTestBroker(b, "", func(c *Config) { c.ConsumerGroupHeartbeatInterval = 100 * time.Millisecond })
	createTopic(b, newClient(b, tb.addr()), "bench", 100)
	desc := dialRaw(b, tb.addr())
	const members = 50
	b.ResetTimer()
	for i := range b.N {
		group := fmt.Sprintf("join50-%d", i)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		ms := make([]*cgBenchMember, members)
		start := time.Now()
		for j := range ms {
			c := dialRaw(b, tb.addr())
			c.SetDeadline(time.Now().Add(time.Minute))
			ms[j] = &cgBenchMember{c: c, group: group, id: fmt.Sprintf("m%02d", j)}
			wg.Add(1)
			go func() { defer wg.Done(); ms[j].run(stop) }()
		}
		for {
			total := int64(0)
			for _, m := range ms {
				total += m.parts.Load()
			}
			if total == 100 {
				desc.SetDeadline(time.Now().Add(10 * time.Second))
				if cgDescribe(b, desc, group).State == "Stable" {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-assign")
		b.StopTimer()
		close(stop)
		wg.Wait()
		for _, m := range ms {
			if m.failed != nil {
				b.Fatal(m.failed)
			}
			m.c.Close()
		}
		b.StartTimer()
	}
}

// BenchmarkConsumerGroupOffsetCommit measures OffsetCommit v9 requests per
// second from the 50 members of a stable consumer group, each committing one
// of its partitions at its member epoch (answered after the Raft commit).
func BenchmarkConsumerGroupOffsetCommit(b *testing.B) {
	tb := startTestBroker(b, "", func(c *Config) { c.ConsumerGroupHeartbeatInterval = 100 * time.Millisecond })
	createTopic(b, newClient(b, tb.addr()), "bench", 100)
	const group, members = "commit50", 50
	stop := make(chan struct{})
	defer close(stop)
	ms := make([]*cgBenchMember, members)
	for j := range ms {
		c := dialRaw(b, tb.addr())
		c.SetDeadline(time.Now().Add(time.Hour))
		ms[j] = &cgBenchMember{c: c, group: group, id: fmt.Sprintf("m%02d", j)}
		go ms[j].run(stop)
	}
	desc := dialRaw(b, tb.addr())
	checkFor(b, 30*time.Second, func() string {
		if d := cgDescribe(b, desc, group); d.State != "Stable" || len(d.Members) != members {
			return "group not stable: " + d.State
		}
		return ""
	})
	d := cgDescribe(b, desc, group)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, dm := range d.Members {
		c := dialRaw(b, tb.addr())
		c.SetDeadline(time.Now().Add(time.Hour))
		part := dm.Assignment.TopicPartitions[0].Partitions[0]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version = 9
				req.Group, req.MemberID, req.Generation = group, dm.MemberID, dm.MemberEpoch
				req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "bench", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: part, Offset: i, LeaderEpoch: -1}}}}
				resp, err := rawRequest(c, req)
				if err != nil || resp.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode != 0 {
					b.Errorf("commit: %v %+v", err, resp)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
}
