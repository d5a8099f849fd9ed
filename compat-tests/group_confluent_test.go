package compat_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// TestCompatGroupConfluent runs the consumer group scenario (group_test.go) with
// confluent-kafka-go (librdkafka): the roundrobin assignor, a synchronous CommitOffsets
// after each batch. librdkafka cannot be cut off the network from inside the process and
// always leaves the group when closed, so each member runs in a child process (this test
// binary, running TestGroupMemberProcess), which is killed with SIGKILL.
func TestCompatGroupConfluent(t *testing.T) {
	runGroupScenario(t, groupClient{
		name:     "confluent",
		assignor: "roundrobin",
		start: func(g *groupRun, id string) (groupMember, error) {
			argv := []string{os.Args[0], "-test.run=^TestGroupMemberProcess$"}
			return startProcMember(g, id, argv, []string{groupMemberEnv + "=confluent"})
		},
	})
}

const groupMemberEnv = "SKIFF_COMPAT_GROUP_MEMBER"

// TestGroupMemberProcess is not a test: it is the confluent-kafka-go group member that
// TestCompatGroupConfluent runs in a child process (see group_proc_test.go for its
// arguments and output), and skips otherwise.
func TestGroupMemberProcess(t *testing.T) {
	if os.Getenv(groupMemberEnv) != "confluent" {
		t.Skip("the child process of TestCompatGroupConfluent")
	}
	if err := confluentGroupMember(flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL confluent group member: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// confluentGroupMember consumes until told to leave, or for at most 120s.
func confluentGroupMember(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("arguments %q, want BOOTSTRAP TOPIC GROUP CLIENT_ID", args)
	}
	bootstrap, topic, group, clientID := args[0], args[1], args[2], args[3]
	var outMu sync.Mutex
	emit := func(format string, a ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", a...)
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":             bootstrap,
		"group.id":                      group,
		"client.id":                     clientID,
		"session.timeout.ms":            int(groupSessionTimeout / time.Millisecond),
		"heartbeat.interval.ms":         500,
		"max.poll.interval.ms":          20000,
		"enable.auto.commit":            false,
		"auto.offset.reset":             "earliest",
		"partition.assignment.strategy": "roundrobin",
		"fetch.wait.max.ms":             200,
		"log.connection.close":          false,
	})
	if err != nil {
		return fmt.Errorf("new consumer: %w", err)
	}
	commands := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			commands <- strings.TrimSpace(sc.Text())
		}
		commands <- "leave" // the test is gone
	}()

	held := false
	pending := map[int32]int64{} // next offset per partition, read but not committed
	commit := func() {
		if held || len(pending) == 0 {
			return
		}
		var tps []kafka.TopicPartition
		for p, o := range pending {
			tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(o)})
		}
		clear(pending)
		// A commit that fails during a rebalance is tried again on the next round,
		// unless the partition is revoked meanwhile or read further.
		retry := func(p int32, o int64) {
			if _, ok := pending[p]; !ok {
				pending[p] = o
			}
		}
		done, err := c.CommitOffsets(tps)
		if err != nil {
			emit("NOTE commit: %v", err)
			for _, tp := range tps {
				retry(tp.Partition, int64(tp.Offset))
			}
			return
		}
		var ok []string
		for _, tp := range done {
			if tp.Error != nil {
				emit("NOTE commit %d: %v", tp.Partition, tp.Error)
				retry(tp.Partition, int64(tp.Offset))
				continue
			}
			ok = append(ok, fmt.Sprintf("%d:%d", tp.Partition, tp.Offset))
		}
		if len(ok) > 0 {
			emit("COMMITTED %s", strings.Join(ok, ","))
		}
	}
	err = c.SubscribeTopics([]string{topic}, func(_ *kafka.Consumer, ev kafka.Event) error {
		switch e := ev.(type) {
		case kafka.AssignedPartitions:
			emit("ASSIGNMENT %s", confluentParts(e.Partitions))
		case kafka.RevokedPartitions:
			commit() // before librdkafka unassigns (it does when the callback did not)
			clear(pending)
			emit("ASSIGNMENT ")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	deadline := time.Now().Add(120 * time.Second)
	batch := 0
	for time.Now().Before(deadline) {
		select {
		case cmd := <-commands:
			switch cmd {
			case "hold":
				commit()
				held = true
				emit("HOLDING")
			case "leave":
				commit()
				if err := c.Close(); err != nil {
					return fmt.Errorf("close: %w", err)
				}
				emit("CLOSED")
				return nil
			}
		default:
		}
		switch e := c.Poll(100).(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				emit("NOTE message error: %v", e.TopicPartition.Error)
				continue
			}
			p, o := e.TopicPartition.Partition, int64(e.TopicPartition.Offset)
			emit("RECORD %d %d %s", p, o, e.Value)
			pending[p] = o + 1
			if batch++; batch < 200 {
				continue
			}
		case kafka.Error:
			emit("NOTE %v", e)
		}
		batch = 0
		commit()
	}
	c.Close()
	return fmt.Errorf("not told to leave within 120s")
}

func confluentParts(tps []kafka.TopicPartition) string {
	ps := make([]int, len(tps))
	for i, tp := range tps {
		ps[i] = int(tp.Partition)
	}
	sort.Ints(ps)
	return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ps)), ","), "[]")
}
