package reference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// launchTimeout covers a first run that downloads the jars with Maven
	// and a start on a busy 2-core machine.
	launchTimeout = 10 * time.Minute
	readyTimeout  = 60 * time.Second // after kafka.sh up: until Metadata lists every broker
	stopTimeout   = 60 * time.Second // kafka.sh down: SIGTERM, and SIGKILL after 30 s
)

// ErrUnavailable is returned by Launch when this machine cannot run Kafka:
// Java or Maven is missing. Its message says what to install.
var ErrUnavailable = errors.New("reference Kafka unavailable")

// Kafka is a running Apache Kafka broker, or a cluster of them.
type Kafka struct {
	script string
	runDir string
	addrs  []string

	stopOnce sync.Once
	stopErr  error
}

// Option changes how Launch and Start run Kafka.
type Option func(*options)

type options struct {
	nodes int
}

// Nodes sets the number of combined broker+controller nodes: 1 (the default)
// or 3, a replicated cluster.
func Nodes(n int) Option { return func(o *options) { o.nodes = n } }

// Start launches Kafka for the test and stops it when the test ends. When
// Java or Maven is missing it skips the test, or fails it in CI or with
// SKIFF_COMPAT_STRICT=1.
func Start(t testing.TB, opts ...Option) *Kafka {
	t.Helper()
	runDir := t.TempDir()
	k, err := launch(context.Background(), runDir, opts...)
	if errors.Is(err, ErrUnavailable) && !Strict() {
		t.Skipf("skipping: %v (set SKIFF_COMPAT_STRICT=1 to fail instead)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reference: last lines of the Kafka log (%s):\n%s", k.LogPath(), k.LogTail(40))
		}
		if err := k.Stop(); err != nil {
			t.Errorf("reference: %v", err)
		}
	})
	return k
}

// Launch starts Kafka in a fresh temporary run directory, for callers that
// share one broker across tests (from TestMain, say) and call Stop
// themselves. The error wraps ErrUnavailable when Java or Maven is missing.
func Launch(ctx context.Context, opts ...Option) (*Kafka, error) {
	runDir, err := os.MkdirTemp("", "skiff-kafka-ref-*")
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	k, err := launch(ctx, runDir, opts...)
	if err != nil {
		os.RemoveAll(runDir)
		return nil, err
	}
	return k, nil
}

// Strict reports whether missing tools must fail tests rather than skip
// them: in CI (CI set) or with SKIFF_COMPAT_STRICT=1.
func Strict() bool {
	return os.Getenv("CI") != "" || os.Getenv("SKIFF_COMPAT_STRICT") == "1"
}

func launch(ctx context.Context, runDir string, opts ...Option) (*Kafka, error) {
	o := options{nodes: 1}
	for _, opt := range opts {
		opt(&o)
	}
	verb := "up"
	switch o.nodes {
	case 1:
	case 3:
		verb = "up3"
	default:
		return nil, fmt.Errorf("reference: Nodes(%d): want 1 or 3", o.nodes)
	}
	script, err := scriptPath()
	if err != nil {
		return nil, err
	}
	if err := checkTools(filepath.Dir(script)); err != nil {
		return nil, err
	}
	k := &Kafka{script: script, runDir: runDir}
	ctx, cancel := context.WithTimeout(ctx, launchTimeout)
	defer cancel()
	out, err := k.run(ctx, verb)
	if err != nil {
		return nil, fmt.Errorf("reference: kafka.sh %s: %w", verb, err)
	}
	last := lastLine(out)
	k.addrs = strings.Split(last, ",")
	if len(k.addrs) != o.nodes || !strings.HasPrefix(last, "127.0.0.1:") {
		k.Stop()
		return nil, fmt.Errorf("reference: kafka.sh %s printed %q last, want %d bootstrap address(es)", verb, last, o.nodes)
	}
	if err := waitBrokers(ctx, k.addrs); err != nil {
		k.Stop()
		return nil, fmt.Errorf("reference: Kafka on %s: %w\n%s", last, err, k.LogTail(40))
	}
	return k, nil
}

// Addr is the bootstrap address of the first node, "127.0.0.1:PORT".
func (k *Kafka) Addr() string { return k.addrs[0] }

// Addrs are the bootstrap addresses of every node.
func (k *Kafka) Addrs() []string { return append([]string(nil), k.addrs...) }

// RunDir holds each node's server.properties, data and logs (node1/, ...).
func (k *Kafka) RunDir() string { return k.runDir }

// LogPath is the server log of the first node.
func (k *Kafka) LogPath() string { return filepath.Join(k.runDir, "node1", "kafka.log") }

// Stop stops every node and waits for them to exit. It is safe to call more
// than once.
func (k *Kafka) Stop() error {
	k.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if _, err := k.run(ctx, "down"); err != nil {
			k.stopErr = fmt.Errorf("kafka.sh down: %w", err)
		}
	})
	return k.stopErr
}

// Tool returns a command that runs one of Kafka's command-line tools from
// the same Maven artifacts, by its script name ("kafka-topics",
// "kafka-consumer-groups", "kafka-console-producer", "kafka-console-consumer",
// "kafka-producer-perf-test", "kafka-consumer-perf-test") or main class.
func (k *Kafka) Tool(ctx context.Context, name string, args ...string) *exec.Cmd {
	return Tool(ctx, name, args...)
}

// Tool is Kafka.Tool without a running broker: the tools can target any
// broker, Skiff included.
func Tool(ctx context.Context, name string, args ...string) *exec.Cmd {
	script, err := scriptPath()
	if err != nil {
		script = "kafka.sh" // the command fails with a clear "not found"
	}
	return exec.CommandContext(ctx, "bash", append([]string{script, "tool", name}, args...)...)
}

// LogTail returns the last n lines of the first node's server log.
func (k *Kafka) LogTail(n int) string {
	data, err := os.ReadFile(k.LogPath())
	if err != nil {
		return fmt.Sprintf("(no Kafka log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// run runs kafka.sh with the run directory and the watchdog set, and returns
// its standard output; the error carries its standard error.
func (k *Kafka) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{k.script}, args...)...)
	cmd.Env = append(os.Environ(),
		"KAFKA_REF_DIR="+k.runDir,
		"KAFKA_REF_WATCH_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The script's background children (the brokers, the watchdog) do not
	// hold these pipes, but do not wait forever if one ever does.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// scriptPath finds kafka.sh beside this source file.
func scriptPath() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("reference: cannot locate kafka.sh: no caller information")
	}
	script := filepath.Join(filepath.Dir(file), "kafka.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("reference: %w", err)
	}
	return script, nil
}

// checkTools wraps ErrUnavailable when java is missing, or mvn is missing
// while the jars are not fetched yet.
func checkTools(dir string) error {
	if os.Getenv("JAVA_HOME") == "" {
		if _, err := exec.LookPath("java"); err != nil {
			return fmt.Errorf("%w: java is not on PATH (apt-get install -y default-jdk-headless; Kafka 4 needs Java 17+)", ErrUnavailable)
		}
	}
	if _, err := exec.LookPath("mvn"); err == nil {
		return nil
	}
	for _, lib := range []string{"lib", "tools-lib"} {
		if _, err := os.Stat(filepath.Join(dir, lib, ".stamp")); err != nil {
			return fmt.Errorf("%w: mvn is not on PATH and %s/%s is not fetched yet (apt-get install -y maven)", ErrUnavailable, dir, lib)
		}
	}
	return nil
}

// waitBrokers polls Metadata until it lists every node: a node that logged
// "Kafka Server started" may not be in the cluster's metadata yet.
func waitBrokers(ctx context.Context, addrs []string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	defer cl.Close()
	var last error
	for {
		req := kmsg.NewPtrMetadataRequest()
		resp, err := req.RequestWith(ctx, cl)
		switch {
		case err != nil:
			last = err
		case len(resp.Brokers) < len(addrs):
			last = fmt.Errorf("the Metadata response lists %d brokers, want %d", len(resp.Brokers), len(addrs))
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready within %v: %v", readyTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
