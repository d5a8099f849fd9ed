package broker

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Tests of offsets.retention.minutes: which offsets expire (run by calling
// expireOffsets with a chosen clock), and the expiry loop with a short
// retention, including across a restart.

// slowExpiry keeps the expiry loop out of the way of tests that drive
// expireOffsets themselves.
func slowExpiry(c *Config) {
	c.OffsetsRetention = time.Hour
	c.OffsetsRetentionCheckInterval = time.Hour
}

// joinConsumer makes a one-member consumer-protocol group subscribed to
// topics, Stable with partition 0 of the first topic assigned. JoinGroup v3
// predates KIP-394, so one join suffices.
func joinConsumer(t *testing.T, c net.Conn, group string, topics ...string) (memberID string, gen int32) {
	t.Helper()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	jr := kmsg.NewPtrJoinGroupRequest()
	jr.Version = 3
	jr.Group, jr.ProtocolType = group, "consumer"
	jr.SessionTimeoutMillis, jr.RebalanceTimeoutMillis = 30000, 3000
	jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
	join := rawSend(t, c, jr).(*kmsg.JoinGroupResponse)
	expectCode(t, "join", join.ErrorCode, 0)
	assign := kmsg.NewConsumerMemberAssignment()
	assign.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: topics[0], Partitions: []int32{0}}}
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Version = 3
	sr.Group, sr.MemberID, sr.Generation = group, join.MemberID, join.Generation
	sr.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: join.MemberID, MemberAssignment: assign.AppendTo(nil)}}
	expectCode(t, "sync", rawSend(t, c, sr).(*kmsg.SyncGroupResponse).ErrorCode, 0)
	return join.MemberID, join.Generation
}

func leaveRaw(t *testing.T, c net.Conn, group, memberID string) {
	t.Helper()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 3
	req.Group = group
	req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: memberID}}
	expectCode(t, "leave", rawSend(t, c, req).(*kmsg.LeaveGroupResponse).ErrorCode, 0)
}

// committedTopics lists the group's committed partitions as "topic-p".
func committedTopics(tb *testBroker, group string) []string {
	var out []string
	for _, o := range tb.groups.store.GroupOffsets(group) {
		out = append(out, fmt.Sprintf("%s-%d", o.Topic, o.Partition))
	}
	return out
}

func TestGroupOffsetsRetentionEmptyGroup(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups, slowExpiry)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "ret", 2)
	c := dialRaw(t, tb.addr())

	id, gen := joinConsumer(t, c, "gone", "ret")
	expectCode(t, "commit", commitRaw(t, c, 9, "gone", id, gen, "ret", 0, 5, nil), 0)
	expectCode(t, "commit", commitRaw(t, c, 9, "gone", id, gen, "ret", 1, 3, nil), 0)
	id2, _ := joinConsumer(t, c, "never-committed", "ret")
	leaveRaw(t, c, "gone", id)
	leaveRaw(t, c, "never-committed", id2)
	left := time.Now()

	// An Empty group's offsets are kept for the retention after it became
	// empty, however old the commits; the one without offsets goes now.
	tb.groups.expireOffsets(left.Add(59 * time.Minute))
	if got := committedTopics(tb, "gone"); len(got) != 2 {
		t.Fatalf("offsets expired before the retention: %v", got)
	}
	if st := describeGroup(t, c, "gone").State; st != "Empty" {
		t.Fatalf("group state %s, want Empty", st)
	}
	if tb.groups.group("never-committed", false) != nil {
		t.Fatal("an empty group without offsets was not removed")
	}
	tb.groups.expireOffsets(left.Add(61 * time.Minute))
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, "gone"); len(got) != 0 {
			return fmt.Sprintf("offsets left after the retention: %v", got)
		}
		for _, gm := range tb.groups.store.Groups() {
			if gm.Group == "gone" {
				return "group metadata still stored"
			}
		}
		return ""
	})
	if st := describeGroup(t, c, "gone").State; st != "Dead" {
		t.Fatalf("expired group state %s, want Dead", st)
	}
	if p := fetchRaw(t, c, 8, "gone", "ret", 0).Groups[0].Topics[0].Partitions[0]; p.Offset != -1 {
		t.Fatalf("fetch after expiry: offset %d", p.Offset)
	}
}

// A group without a protocol type (admin commits) expires each offset the
// retention after its own commit.
func TestGroupOffsetsRetentionSimpleGroup(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups, slowExpiry)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "ret", 2)
	c := dialRaw(t, tb.addr())
	expectCode(t, "admin commit p0", commitRaw(t, c, 9, "simple", "", -1, "ret", 0, 1, nil), 0)
	time.Sleep(20 * time.Millisecond)
	expectCode(t, "admin commit p1", commitRaw(t, c, 9, "simple", "", -1, "ret", 1, 2, nil), 0)
	offs := tb.groups.store.GroupOffsets("simple")
	if len(offs) != 2 || offs[0].CommitTime >= offs[1].CommitTime {
		t.Fatalf("commits: %+v", offs)
	}
	retention := time.Hour
	tb.groups.expireOffsets(time.UnixMilli(offs[0].CommitTime).Add(retention))
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, "simple"); len(got) != 1 || got[0] != "ret-1" {
			return fmt.Sprintf("after the first offset's retention: %v, want [ret-1]", got)
		}
		return ""
	})
	if tb.groups.group("simple", false) == nil {
		t.Fatal("group with an offset left was removed")
	}
	tb.groups.expireOffsets(time.UnixMilli(offs[1].CommitTime).Add(retention))
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, "simple"); len(got) != 0 {
			return fmt.Sprintf("after the second offset's retention: %v", got)
		}
		if tb.groups.group("simple", false) != nil {
			return "group without offsets not removed"
		}
		return ""
	})
}

// A Stable consumer group keeps the offsets of the topics it subscribes to
// and loses the others' after the retention.
func TestGroupOffsetsRetentionStableGroup(t *testing.T) {
	tb := startTestBroker(t, "", fastGroups, slowExpiry)
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "ret", 1)
	createTopic(t, cl, "old", 1)
	c := dialRaw(t, tb.addr())
	id, gen := joinConsumer(t, c, "live", "ret")
	expectCode(t, "commit ret", commitRaw(t, c, 9, "live", id, gen, "ret", 0, 4, nil), 0)
	expectCode(t, "commit old", commitRaw(t, c, 9, "live", id, gen, "old", 0, 9, nil), 0)
	tb.groups.expireOffsets(time.Now().Add(2 * time.Hour))
	checkFor(t, 5*time.Second, func() string {
		if got := committedTopics(tb, "live"); len(got) != 1 || got[0] != "ret-0" {
			return fmt.Sprintf("offsets %v, want [ret-0]", got)
		}
		return ""
	})
	if st := describeGroup(t, c, "live").State; st != "Stable" {
		t.Fatalf("group state %s, want Stable", st)
	}
}

// TestGroupOffsetsRetentionLoop runs the expiry loop with a short retention:
// a consumer group that commits and leaves keeps its offsets for the
// retention, then loses them and disappears; the clock survives a restart.
func TestGroupOffsetsRetentionLoop(t *testing.T) {
	const retention = time.Second
	short := func(c *Config) {
		c.OffsetsRetention = retention
		c.OffsetsRetentionCheckInterval = 50 * time.Millisecond
	}
	dir := t.TempDir()
	tb := startTestBroker(t, dir, fastGroups, short)
	prod := newClient(t, tb.addr(), kgo.DefaultProduceTopic("loop"))
	createTopic(t, prod, "loop", 1)
	produceN(t, prod, "r", 3)
	consumeAndLeave := func(group string) time.Time {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(tb.addr()), kgo.ConsumerGroup(group), kgo.ConsumeTopics("loop"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 3; {
			fs := cl.PollFetches(ctxT(t))
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			n += len(fs.Records())
		}
		if err := cl.CommitUncommittedOffsets(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		leaving := time.Now() // no later than the broker's empty time
		cl.Close()            // leaves the group
		return leaving
	}
	listed := func(b *testBroker, group string) bool {
		return b.groups.group(group, false) != nil || len(b.groups.store.GroupOffsets(group)) > 0
	}

	left := consumeAndLeave("short")
	if got := committedTopics(tb, "short"); len(got) != 1 && time.Since(left) < retention/2 {
		t.Fatalf("offsets gone before the retention: %v", got)
	}
	checkFor(t, 10*time.Second, func() string {
		if listed(tb, "short") {
			return "group and offsets still there after the retention"
		}
		return ""
	})
	if d := time.Since(left); d < retention {
		t.Fatalf("expired %v after the group became empty, before the retention of %v", d, retention)
	}

	// The group's empty time is stored: after a restart that comes once
	// the retention has passed, the offsets go at the first check rather
	// than a retention later.
	left = consumeAndLeave("restart")
	checkFor(t, 5*time.Second, func() string {
		for _, gm := range tb.groups.store.Groups() {
			if gm.Group == "restart" && len(gm.Members) == 0 && gm.StateTime > 0 {
				return ""
			}
		}
		return "empty group not stored yet"
	})
	tb.Close()
	time.Sleep(time.Until(left.Add(retention)))
	tb = startTestBroker(t, dir, fastGroups, short)
	restarted := time.Now()
	checkFor(t, 10*time.Second, func() string {
		if listed(tb, "restart") {
			return "offsets of the expired group still there after the restart"
		}
		return ""
	})
	if d := time.Since(restarted); d >= retention {
		t.Fatalf("expiry took %v after the restart: the retention clock restarted", d)
	}
}
