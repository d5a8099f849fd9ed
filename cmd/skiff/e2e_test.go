package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The TestCLIQuickStart* tests run the real binary: `skiff server` as a
// process and the client commands as processes against it, as a user would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func skiffBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "skiff-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "skiff")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type serverProc struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	log  *bytes.Buffer
}

// startServer runs `skiff server` and returns once ApiVersions is answered,
// with the time that took. The metrics listener and admin API are off
// unless extra sets --metrics-listen.
func startServer(t *testing.T, addr, dir string, extra ...string) (*serverProc, time.Duration) {
	t.Helper()
	var log bytes.Buffer
	args := append([]string{"server", "--listen", addr, "--data-dir", dir, "--metrics-listen", ""}, extra...)
	cmd := exec.Command(skiffBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serverProc{cmd: cmd, addr: addr, dir: dir, log: &log}
	t.Cleanup(func() { s.stop(t) })
	for {
		if apiVersionsOK(addr) {
			return s, time.Since(start)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("server did not answer ApiVersions within 20s:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func apiVersionsOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	frame := kmsg.NewRequestFormatter().AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1)
	if _, err := c.Write(frame); err != nil {
		return false
	}
	var hdr [8]byte
	_, err = c.Read(hdr[:])
	return err == nil
}

func (s *serverProc) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM:\n%s", err, s.log.String())
		}
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("server did not stop within 15s of SIGTERM")
	}
}

// skiffCmd runs a client command of the binary and returns stdout, stderr.
func skiffCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiffBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func mustSkiff(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := skiffCmd(t, stdin, args...)
	if err != nil {
		t.Fatalf("skiff %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestCLIQuickStartEndToEnd(t *testing.T) {
	addr, metrics := freePort(t), freePort(t)
	dir := t.TempDir()
	srv, _ := startServer(t, addr, dir, "--metrics-listen", metrics)
	b := "--brokers=" + addr

	mustSkiff(t, "", "topic", "create", "greetings", "--partitions", "2", b, "--config", "retention.ms=86400000")
	if out := mustSkiff(t, "", "topic", "list", b); !strings.Contains(out, "greetings") {
		t.Fatalf("topic list: %q", out)
	}
	if out := mustSkiff(t, "", "topic", "describe", "greetings", b); !strings.Contains(out, "retention.ms") {
		t.Fatalf("topic describe lacks the set config: %q", out)
	}
	mustSkiff(t, "alice:hello\nbob:hi there\nalice:bye\n", "produce", "greetings", "--key-separator", ":", b)
	out := mustSkiff(t, "", "consume", "greetings", "-B", "-d", "--format", "{{key}}={{value}}", b)
	for _, want := range []string{"alice=hello", "bob=hi there", "alice=bye"} {
		if !strings.Contains(out, want) {
			t.Fatalf("consume lacks %q: %q", want, out)
		}
	}
	// Same key, same partition, in order.
	if strings.Index(out, "alice=hello") > strings.Index(out, "alice=bye") {
		t.Fatalf("records of one key out of order: %q", out)
	}

	// A graceful restart keeps everything; ApiVersions answers quickly.
	srv.stop(t)
	_, took := startServer(t, addr, dir, "--metrics-listen", metrics)
	if took > 5*time.Second {
		t.Errorf("ApiVersions took %v after restart", took)
	}
	t.Logf("ApiVersions answered %v after restart", took)
	out = mustSkiff(t, "", "consume", "greetings", "-B", "-d", "--format", "{{partition}}:{{offset}} {{value}}", b)
	if n := strings.Count(out, "\n"); n != 3 {
		t.Fatalf("after restart consumed %d records: %q", n, out)
	}
	// Offset and partition selection.
	out = mustSkiff(t, "", "consume", "greetings", "-d", "--offset", "1", "-p", partitionOf(t, addr, "alice"), "--format", "{{value}}", b)
	if strings.TrimSpace(out) != "bye" {
		t.Fatalf("--offset 1 -p: %q", out)
	}

	// A SmartModule: store it, deploy it from greetings to words, read
	// what it wrote (one record per word).
	admin := "--admin=http://" + metrics
	mustSkiff(t, "", "smartmodule", "create", "split", "--wasm-file", exampleModule(t, "word-split"), admin)
	mustSkiff(t, "", "topic", "create", "words", b)
	mustSkiff(t, "", "transform", "deploy", "greeting-words", "--input", "greetings", "--output", "words", "--module", "split", admin)
	out = mustSkiff(t, "", "consume", "words", "-B", "--max", "4", b)
	if got, want := sortedLines(out), []string{"bye", "hello", "hi", "there"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("the transform's output: %q; want %q", got, want)
	}
	if out := mustSkiff(t, "", "transform", "list", admin); !strings.Contains(out, "greeting-words") {
		t.Fatalf("transform list: %q", out)
	}
	mustSkiff(t, "", "transform", "delete", "greeting-words", admin)

	mustSkiff(t, "", "topic", "delete", "greetings", b)
	if out := mustSkiff(t, "", "topic", "list", b); strings.Contains(out, "greetings") {
		t.Fatalf("topic still listed after delete: %q", out)
	}
}

// partitionOf finds the partition that holds key's records.
func partitionOf(t *testing.T, addr, key string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("greetings"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("key not found")
		}
		for _, r := range fs.Records() {
			if string(r.Key) == key {
				return fmt.Sprint(r.Partition)
			}
		}
	}
}

func TestCLIQuickStartNoBroker(t *testing.T) {
	addr := freePort(t) // nothing listens here
	_, errOut, err := skiffCmd(t, "", "topic", "list", "--brokers", addr)
	if err == nil || !strings.Contains(errOut, "no broker at "+addr) || !strings.Contains(errOut, "skiff server") {
		t.Fatalf("want a no-broker hint, got %v: %q", err, errOut)
	}
}

func TestCLIQuickStartServerDefaults(t *testing.T) {
	s, err := loadServerSettings(nil, func(string) string { return "" }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:9092" || s.DataDir != "./skiff-data" || s.NodeID != 1 || s.MetricsListen != "127.0.0.1:9644" {
		t.Fatalf("defaults: %+v", s)
	}
	cfg := filepath.Join(t.TempDir(), "skiff.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:7000\nnode-id: 4\nlog-format: json\n"), 0o644)
	env := map[string]string{"SKIFF_NODE_ID": "5", "SKIFF_DATA_DIR": "/d"}
	s, err = loadServerSettings([]string{"--config", cfg, "--data-dir", "/flag"}, func(k string) string { return env[k] }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	// file < env < flag
	if s.Listen != "127.0.0.1:7000" || s.NodeID != 5 || s.DataDir != "/flag" || s.LogFormat != "json" {
		t.Fatalf("layered settings: %+v", s)
	}
	if _, err := loadServerSettings([]string{"--config", cfg}, func(k string) string {
		if k == "SKIFF_NODE_ID" {
			return "x"
		}
		return ""
	}, os.Stderr); err == nil {
		t.Fatal("bad SKIFF_NODE_ID accepted")
	}
}
