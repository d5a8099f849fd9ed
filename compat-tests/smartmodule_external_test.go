package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
)

// The view scenario (smartmodule_test.go) with the clients outside Go, in child
// processes (smartmodule_proc_test.go). compat-tests/install.sh builds what they need.

// TestCompatViewJava: kafka-clients 4.x (java/.../ViewClient.java), an idempotent
// producer per codec and a subscribed consumer that reports position().
func TestCompatViewJava(t *testing.T) { runViewScenario(t, javaViewClient(t)) }

// TestCompatViewKafkaJS: kafkajs 2.x (node/view.js), a plain producer and a consumer
// group, kafkajs having no assign mode.
func TestCompatViewKafkaJS(t *testing.T) { runViewScenario(t, kafkajsViewClient(t)) }

// TestCompatViewPython: confluent-kafka for Python (python/view.py, librdkafka in its
// wheel), an idempotent producer per codec and a subscribed consumer that reports
// partition EOF.
func TestCompatViewPython(t *testing.T) { runViewScenario(t, pythonViewClient(t)) }

// TestCompatViewKcat: kcat (Debian's, librdkafka inside): one `kcat -P` per send, which
// reports no offsets, and `kcat -C -o beginning` over every partition, whose "Reached
// end" lines are its position.
func TestCompatViewKcat(t *testing.T) { runViewScenario(t, kcatViewClient(t)) }

func javaViewClient(t *testing.T) viewClient {
	harness.Require(t, "java")
	jar := needBuilt(t, filepath.Join("java", "target", "skiff-compat-java.jar"))
	needNewer(t, jar, filepath.Join("java", "src", "main", "java", "dev", "skiff", "compat", "ViewClient.java"))
	argv := []string{"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", jar, "dev.skiff.compat.ViewClient"}
	return procViewClient("java", argv, nil)
}

func kafkajsViewClient(t *testing.T) viewClient {
	harness.Require(t, "node")
	needBuilt(t, filepath.Join("node", "node_modules", "kafkajs", "package.json"))
	argv := []string{"node", needBuilt(t, filepath.Join("node", "view.js"))}
	c := procViewClient("kafkajs", argv, nil)
	c.bug = kafkajsEmptyBatchBug
	return c
}

// kafkajsEmptyBatchBug: kafkajs builds its Batch from the records of a Fetch response
// and ignores the record batches' lastOffsetDelta (consumer/batch.js, runner.js).
var kafkajsEmptyBatchBug = &clientBug{
	what: "kafkajs 2.2.4 (the newest release) does not move past a Fetch response whose record batches hold " +
		"no records: it advances by the records it decodes, so it fetches the same offset again at once, " +
		"thousands of Fetches a second; on Apache Kafka a compacted segment that ends in emptied batches stops it " +
		"for good (TestReferenceEmptyBatches, empty-segment), on a view it spins at a filtered tail until a match follows",
	stall: true,
}

func pythonViewClient(t *testing.T) viewClient {
	python := needBuilt(t, filepath.Join("python", ".venv", "bin", "python"))
	argv := []string{python, needBuilt(t, filepath.Join("python", "view.py"))}
	return procViewClient("python", argv, []string{"PYTHONUNBUFFERED=1"})
}

func kcatViewClient(t *testing.T) viewClient {
	harness.Require(t, "kcat")
	return viewClient{name: "kcat", produce: kcatViewProduce, consume: kcatViewConsume}
}

func kcatViewProduce(ctx context.Context, t *testing.T, addr, topic string, sends []viewSend) ([]record, error) {
	for _, s := range sends {
		var in bytes.Buffer
		for _, v := range s.Values {
			fmt.Fprintf(&in, "%s#%s\n", viewKey(v), v)
		}
		cmd := exec.CommandContext(ctx, "kcat", "-b", addr, "-t", topic, "-P", "-p", strconv.Itoa(int(s.Partition)),
			"-z", s.Codec, "-K", "#", "-X", "acks=all", "-X", "linger.ms=100", "-X", "log_level=4")
		cmd.WaitDelay = 5 * time.Second
		cmd.Stdin = &in
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", cmd, err, out)
		}
	}
	return nil, nil // kcat -P reports no offsets
}

// kcatEOF is kcat's message at the end of a partition (without -q).
var kcatEOF = regexp.MustCompile(`Reached end of topic \S+ \[(\d+)\] at offset (\d+)`)

func kcatViewConsume(t *testing.T, addr, topic string, reads *viewReads) (func() error, error) {
	cmd := exec.Command("kcat", "-b", addr, "-t", topic, "-C", "-o", "beginning", "-u",
		"-f", `RECORD %p %o %k %s\n`, "-X", "log_level=4", "-X", "fetch.wait.max.ms=500")
	parseErr := func(line string, reads *viewReads) bool {
		m := kcatEOF.FindStringSubmatch(line)
		if m == nil {
			return false
		}
		p, _ := strconv.ParseInt(m[1], 10, 32)
		o, _ := strconv.ParseInt(m[2], 10, 64)
		reads.position(int32(p), o)
		return true
	}
	stop, err := startViewProc(t, cmd, nil, reads, parseViewLine, parseErr)
	if err != nil {
		return nil, err
	}
	return func() error {
		// kcat -C does not read stdin: SIGTERM ends it, and it exits 0.
		cmd.Process.Signal(syscall.SIGTERM)
		err := stop()
		if err != nil && strings.Contains(err.Error(), "signal: terminated") {
			return nil
		}
		return err
	}, nil
}
