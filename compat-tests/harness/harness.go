package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Targets that SKIFF_COMPAT_TARGET selects.
const (
	targetSkiff = "skiff"
	targetKfake = "kfake"
)

const (
	readyTimeout = 30 * time.Second // Start and StartAgain: until ApiVersions answers
	stopTimeout  = 30 * time.Second // Stop: from SIGTERM until the process exits
	killTimeout  = 10 * time.Second // Kill9: from SIGKILL until the process exits
	tailOnFail   = 60               // log lines shown when a test fails
)

// Server is one broker process under test, on fixed loopback ports and a data
// dir that outlive restarts of the process.
type Server struct {
	target      string
	bin         string
	args        []string
	addr        string
	metricsAddr string
	dataDir     string
	logPath     string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit error, set before done is closed
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Option changes how Start runs the server.
type Option func(*options)

type options struct {
	extraArgs []string
}

// WithArgs appends flags to the `skiff server` command line. The kfake target
// ignores them.
func WithArgs(extra ...string) Option {
	return func(o *options) { o.extraArgs = append(o.extraArgs, extra...) }
}

// Start builds the server binary (once per test process), starts it on free
// loopback ports with a fresh data dir, and waits until it answers an
// ApiVersions request. The server is stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	target, err := targetFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := binary(target)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	root := t.TempDir()
	s := &Server{
		target:  target,
		bin:     bin,
		addr:    freeAddr(t),
		dataDir: filepath.Join(root, "data"),
		logPath: filepath.Join(root, "server.log"),
	}
	if err := os.Mkdir(s.dataDir, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	switch target {
	case targetSkiff:
		s.metricsAddr = freeAddr(t)
		s.args = []string{"server",
			"--listen", s.addr, "--advertise", s.addr,
			"--data-dir", s.dataDir,
			"--metrics-listen", s.metricsAddr,
			"--log-format", "json"}
		s.args = append(s.args, o.extraArgs...)
	case targetKfake:
		if len(o.extraArgs) > 0 {
			t.Logf("harness: kfake target ignores server flags %q", o.extraArgs)
		}
		s.args = []string{"-listen", s.addr, "-data-dir", s.dataDir}
	}
	t.Cleanup(func() { s.cleanup(t) })
	s.start(t)
	return s
}

func targetFromEnv() (string, error) {
	switch target := os.Getenv("SKIFF_COMPAT_TARGET"); target {
	case "", targetSkiff:
		return targetSkiff, nil
	case targetKfake:
		return targetKfake, nil
	default:
		return "", fmt.Errorf("harness: SKIFF_COMPAT_TARGET=%q: want %q (default) or %q", target, targetSkiff, targetKfake)
	}
}

// Addr is the Kafka listener, "127.0.0.1:PORT"; it stays the same across
// restarts.
func (s *Server) Addr() string { return s.addr }

// MetricsAddr is the Prometheus listener, or "" for the kfake target.
func (s *Server) MetricsAddr() string { return s.metricsAddr }

// DataDir is the server's data directory; it stays the same across restarts.
func (s *Server) DataDir() string { return s.dataDir }

// Target is "skiff" or "kfake", from SKIFF_COMPAT_TARGET.
func (s *Server) Target() string { return s.target }

// Persistent reports whether data survives Restart and Kill9+StartAgain.
// Both targets keep their data dir; tests that check data after a restart
// should still skip when this is false.
func (s *Server) Persistent() bool { return true }

// Restart stops the server with SIGTERM, waits for it to exit, and starts it
// again on the same ports and data dir.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.StartAgain(t)
}

// Stop sends SIGTERM and waits for the server to exit. A server that needs
// more than 30s, or exits with a non-zero status, fails the test.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	p := s.takeProc(t, "Stop")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("harness: SIGTERM server: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("harness: server did not exit within %v of SIGTERM; killed it\n%s", stopTimeout, s.LogTail(tailOnFail))
	}
	if p.err != nil {
		t.Errorf("harness: server exited with %v after SIGTERM, want exit status 0\n%s", p.err, s.LogTail(tailOnFail))
	}
}

// Kill9 sends SIGKILL and waits for the server to exit.
func (s *Server) Kill9(t testing.TB) {
	t.Helper()
	p := s.takeProc(t, "Kill9")
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("harness: SIGKILL server: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(killTimeout):
		t.Fatalf("harness: server still running %v after SIGKILL", killTimeout)
	}
}

// StartAgain starts the server after Stop or Kill9, on the same ports and
// data dir, and waits until it answers.
func (s *Server) StartAgain(t testing.TB) {
	t.Helper()
	s.start(t)
}

// takeProc detaches the running process from s so the caller can end it. A
// process that already exited on its own fails the test: nobody asked it to.
func (s *Server) takeProc(t testing.TB, op string) *process {
	t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		t.Fatalf("harness: %s: server is not running", op)
	}
	if p.exited() {
		t.Fatalf("harness: %s: server had already exited on its own: %v\n%s", op, p.err, s.LogTail(tailOnFail))
	}
	return p
}

// start runs the binary with output appended to the log file and waits until
// it is ready.
func (s *Server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatal("harness: server is already running; Stop or Kill9 it first")
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("harness: open server log: %v", err)
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		t.Fatalf("harness: start %s %s: %v", s.bin, strings.Join(s.args, " "), err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := waitReady(s.addr, p); err != nil {
		t.Fatalf("harness: %s server on %s not ready: %v\ncommand: %s %s\n%s",
			s.target, s.addr, err, s.bin, strings.Join(s.args, " "), s.LogTail(tailOnFail))
	}
}

// waitReady polls with ApiVersions until the broker answers without error,
// the process exits, or readyTimeout passes.
func waitReady(addr string, p *process) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		return err
	}
	defer cl.Close()
	var last error
	for {
		last = apiVersions(ctx, cl)
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("process exited (%v) before answering ApiVersions (last error: %v)", p.err, last)
		case <-ctx.Done():
			return fmt.Errorf("no ApiVersions answer within %v: %v", readyTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func apiVersions(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName = "skiff-compat-harness"
	req.ClientSoftwareVersion = "0"
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	if len(resp.ApiKeys) == 0 {
		return errors.New("ApiVersions response lists no API keys")
	}
	return nil
}

// LogTail returns the last n lines the server wrote to stdout and stderr,
// across all of its runs in this test.
func (s *Server) LogTail(n int) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	defer f.Close()
	const maxRead = 1 << 20
	if info, err := f.Stat(); err == nil && info.Size() > maxRead {
		f.Seek(info.Size()-maxRead, io.SeekStart)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(read server log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanup runs when the test ends: it stops a running server gracefully and
// shows the log tail if the test failed.
func (s *Server) cleanup(t testing.TB) {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		if p.exited() {
			s.mu.Lock()
			s.proc = nil
			s.mu.Unlock()
			t.Errorf("harness: server exited on its own during the test: %v", p.err)
		} else {
			s.Stop(t)
		}
	}
	if t.Failed() {
		t.Logf("harness: last %d lines of the %s server log (%s):\n%s", tailOnFail, s.target, s.logPath, s.LogTail(tailOnFail))
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("harness: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
