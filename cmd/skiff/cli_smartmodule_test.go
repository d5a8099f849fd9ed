package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffstream/skiff/broker"
	"github.com/skiffstream/skiff/transforms/wasmbuild"
)

// The TestCLISmartModule* and TestCLITransform* tests run the commands
// in-process against a real broker (kfake has no SmartModules) with its
// admin API on an httptest server, and SmartModules built from
// transforms/examples.

// smTestDir holds the example modules the tests build and the compilation
// cache that every broker and `smartmodule test` of the run share, so each
// module is built and compiled once per test binary.
var smTestDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skiff-cli-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	smTestDir = dir
	localWasmCache = wasmbuild.CacheDir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var wasmFiles sync.Map // example name → path written

// exampleModule builds transforms/examples/NAME for GOOS=wasip1
// GOARCH=wasm, once per test binary, and returns the .wasm file's path.
func exampleModule(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(smTestDir, name+".wasm")
	if _, done := wasmFiles.Load(name); !done {
		if err := os.WriteFile(path, wasmbuild.Example(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
		wasmFiles.Store(name, path)
	}
	return path
}

// smCLI runs subcommands in-process against a real broker and its admin
// API.
type smCLI struct {
	t       *testing.T
	dir     string
	b       *broker.Broker
	hs      *httptest.Server
	log     *testLogWriter
	brokers string // the Kafka listener
	admin   string // the admin API's URL
}

func newSMCLI(t *testing.T) *smCLI {
	t.Helper()
	c := &smCLI{t: t, dir: t.TempDir()}
	// The broker keeps its compilation cache in <data-dir>/wasm-cache:
	// point that at the machine's shared one for tests.
	if err := os.MkdirAll(wasmbuild.CacheDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wasmbuild.CacheDir(), filepath.Join(c.dir, "wasm-cache")); err != nil {
		t.Fatal(err)
	}
	c.start("127.0.0.1:0")
	t.Cleanup(c.stop)
	return c
}

// start starts a broker on addr with the data of c.dir.
func (c *smCLI) start(addr string) {
	c.t.Helper()
	c.log = &testLogWriter{t: c.t}
	cfg := broker.DefaultConfig()
	cfg.Listen, cfg.DataDir = addr, c.dir
	cfg.Logger = slog.New(slog.NewTextHandler(c.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := broker.New(cfg)
	if err := b.Start(); err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.WaitReady(ctx); err != nil {
		b.Close()
		c.t.Fatal(err)
	}
	c.b, c.brokers = b, b.Addr().String()
	c.hs = httptest.NewServer(metricsMux(b))
	c.admin = c.hs.URL
}

// stop closes the broker and its admin API.
func (c *smCLI) stop() {
	if c.b == nil {
		return
	}
	c.hs.Close()
	if err := c.b.Close(); err != nil {
		c.t.Errorf("close broker: %v", err)
	}
	c.log.closed.Store(true)
	c.b = nil
}

// restart stops the broker and starts it again on the same address and
// data.
func (c *smCLI) restart() {
	c.t.Helper()
	addr := c.brokers
	c.stop()
	c.start(addr)
}

// run runs a Kafka-side command (topic, produce, consume) with --brokers.
func (c *smCLI) run(fn runFunc, stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := fn(append(args, "--brokers", c.brokers), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// runAdmin runs an admin-side command (smartmodule, transform) with
// --admin.
func (c *smCLI) runAdmin(fn runFunc, stdin string, args ...string) (int, string, string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := fn(append(args, "--admin", c.admin), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func (c *smCLI) mustRun(fn runFunc, stdin string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(fn, stdin, args...)
	if code != 0 {
		c.t.Fatalf("%q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

func (c *smCLI) mustAdmin(fn runFunc, stdin string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.runAdmin(fn, stdin, args...)
	if code != 0 {
		c.t.Fatalf("%q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// createModule stores the example module example as name.
func (c *smCLI) createModule(name, example string) {
	c.t.Helper()
	c.mustAdmin(runSmartModule, "", "create", name, "--wasm-file", exampleModule(c.t, example))
}

// writeFile writes a file in the test's temporary folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testLogWriter sends the broker's log to the test's, until the broker is
// closed.
type testLogWriter struct {
	t      *testing.T
	closed atomic.Bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	if !w.closed.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func TestCLISmartModuleLifecycle(t *testing.T) {
	c := newSMCLI(t)
	wasm := exampleModule(t, "regex-filter")

	out := c.mustAdmin(runSmartModule, "", "create", "keep", "--wasm-file", wasm)
	// regex-filter needs its regex to start, so its kind is unknown until
	// it runs with one.
	if !regexp.MustCompile(`^created SmartModule keep \(unknown, [\d.]+ MiB, sha256 [0-9a-f]{12}\)\n$`).MatchString(out) {
		t.Errorf("create: %q", out)
	}
	code, _, stderr := c.runAdmin(runSmartModule, "", "create", "keep", "--wasm-file", wasm)
	if code != 1 || !strings.Contains(stderr, "--replace") {
		t.Errorf("create again: exit %d, stderr %q; want 1 and a hint at --replace", code, stderr)
	}
	if out := c.mustAdmin(runSmartModule, "", "create", "keep", "--wasm-file", wasm, "--replace"); !strings.HasPrefix(out, "stored SmartModule keep (unknown") {
		t.Errorf("create --replace: %q", out)
	}
	c.createModule("split", "word-split")

	// The built-ins are listed among the stored modules, by name.
	out = c.mustAdmin(runSmartModule, "", "list")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 6 || !regexp.MustCompile(`^NAME +KIND +SIZE +SHA256 +CREATED$`).MatchString(rows[0]) ||
		!regexp.MustCompile(`^jolt +map +[\d.]+ MiB +[0-9a-f]{12} +built-in$`).MatchString(rows[1]) ||
		!regexp.MustCompile(`^json-filter +filter +.* built-in$`).MatchString(rows[2]) ||
		!regexp.MustCompile(`^keep +unknown +[\d.]+ MiB +[0-9a-f]{12} +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(rows[3]) ||
		!regexp.MustCompile(`^regex-filter +filter +.* built-in$`).MatchString(rows[4]) ||
		!regexp.MustCompile(`^split +array-map +`).MatchString(rows[5]) {
		t.Errorf("list:\n%s", out)
	}
	out = c.mustAdmin(runSmartModule, "", "describe", "regex-filter")
	for _, want := range []string{"Name:     regex-filter\n", "Kind:     filter\n", "Created:  built in (shipped in the binary"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe of a built-in lacks %q:\n%s", want, out)
		}
	}

	out = c.mustAdmin(runSmartModule, "", "describe", "split")
	for _, want := range []string{"Name:     split\n", "Kind:     array-map\n", "SHA256:   "} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}

	// test: a stored module, --text records with a key, parameters.
	out = c.mustAdmin(runSmartModule, "", "test", "keep", "--params", "regex=^a", "--text", "apple", "--text", "banana", "--text", "avocado",
		"--key", "k", "--key-separator", "=")
	if out != "k=apple\nk=avocado\n" {
		t.Errorf("test keep: %q", out)
	}
	// Records from stdin; a local file.
	out = c.mustAdmin(runSmartModule, "one two\n\nthree\n", "test", "--wasm-file", exampleModule(t, "word-split"))
	if out != "one\ntwo\nthree\n" {
		t.Errorf("test --wasm-file word-split: %q", out)
	}
	// A transforms.yml whose modules come from the broker.
	yml := writeFile(t, "chain.yml", "transforms:\n  - uses: split\n  - uses: keep\n    with:\n      regex: o\n")
	if out := c.mustAdmin(runSmartModule, "one two three four\n", "test", "--transforms-file", yml); out != "one\ntwo\nfour\n" {
		t.Errorf("test --transforms-file: %q", out)
	}
	// A module failing on one record: that record's error, the others' outputs.
	code, out, stderr = c.runAdmin(runSmartModule, "{\"id\":1,\"x\":2}\nnot json\n{\"x\":3}\n",
		"test", "--wasm-file", exampleModule(t, "json-projection"), "--params", "fields=id")
	if code != 1 || out != "{\"id\":1}\n{}\n" || !strings.Contains(stderr, `record 2 ("not json"): step 1 (json-projection) failed:`) ||
		!strings.Contains(stderr, "value is not a JSON object") || !strings.Contains(stderr, "1 of 3 records failed") {
		t.Errorf("test json-projection: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// A module that does not start: what it printed says why.
	code, _, stderr = c.runAdmin(runSmartModule, "", "test", "keep", "--text", "x")
	if code != 1 || !strings.Contains(stderr, "the `regex` parameter is required") {
		t.Errorf("test keep without regex: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = c.runAdmin(runSmartModule, "", "test", "nope", "--text", "x")
	if code != 1 || !strings.Contains(stderr, "skiff smartmodule create nope --wasm-file F") {
		t.Errorf("test nope: exit %d, stderr %q", code, stderr)
	}

	if out := c.mustAdmin(runSmartModule, "", "delete", "keep"); out != "deleted SmartModule keep\n" {
		t.Errorf("delete: %q", out)
	}
	code, _, stderr = c.runAdmin(runSmartModule, "", "describe", "keep")
	if code != 1 || !strings.Contains(stderr, "`skiff smartmodule list` shows the stored modules") {
		t.Errorf("describe after delete: exit %d, stderr %q", code, stderr)
	}
	c.mustAdmin(runSmartModule, "", "delete", "split")
	code, out, stderr = c.runAdmin(runSmartModule, "", "list")
	if code != 0 || strings.Count(out, "\n") != 4 || strings.Count(out, "built-in") != 3 || !strings.Contains(stderr, "no SmartModules stored yet") {
		t.Errorf("list when empty: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestCLISmartModuleNoAdmin checks the advice when nothing answers at
// --admin, and the usage errors that come before any connection.
func TestCLISmartModuleNoAdmin(t *testing.T) {
	addr := closedAddr(t)
	for _, tc := range []struct {
		fn   runFunc
		args []string
	}{
		{runSmartModule, []string{"list"}},
		{runSmartModule, []string{"describe", "m"}},
		{runTransform, []string{"list"}},
		{runTransform, []string{"pause", "x"}},
	} {
		var out, errOut bytes.Buffer
		code := tc.fn(append(tc.args, "--admin", addr), strings.NewReader(""), &out, &errOut)
		want := "no Skiff admin API at http://" + addr + ": start a broker with `skiff server`"
		if code != 1 || !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "--metrics-listen '' turns it off") ||
			!strings.Contains(errOut.String(), "--admin URL / set SKIFF_ADMIN") {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.args, code, errOut.String(), want)
		}
	}

	for _, tc := range []struct {
		fn   runFunc
		args []string
		want string
	}{
		{runSmartModule, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{runSmartModule, []string{"create", "m"}, "--wasm-file is required"},
		{runSmartModule, []string{"test", "--text", "x"}, "name the module to run"},
		{runSmartModule, []string{"test", "m", "--wasm-file", "f.wasm", "--text", "x"}, "one of the three"},
		{runSmartModule, []string{"test", "m", "--key", "k"}, "pass --text too"},
		{runSmartModule, []string{"test", "m", "--params", "novalue"}, "want key=value"},
		{runTransform, []string{"deploy", "d", "--output", "o", "--module", "m"}, "--input is required"},
		{runTransform, []string{"deploy", "d", "--input", "i", "--module", "m"}, "--output is required"},
		{runTransform, []string{"deploy", "d", "--input", "i", "--output", "o"}, "--module NAME or --transforms-file F"},
		{runTransform, []string{"deploy", "d", "--input", "i", "--output", "o", "--module", "m", "--from-offset", "yesterday"}, "--from-offset"},
		{runTransform, []string{"deploy", "d", "--input", "i", "--output", "o", "--module", "m", "--error-policy", "retry"}, "use fail, skip or dead-letter:TOPIC"},
		{runTransform, []string{"describe"}, "missing argument"},
	} {
		var out, errOut bytes.Buffer
		code := tc.fn(append(tc.args, "--admin", addr), strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

func TestCLISmartModuleAdminDefault(t *testing.T) {
	defer func(f func(string) string) { getenv = f }(getenv)
	env := map[string]string{}
	getenv = func(k string) string { return env[k] }
	if got := defaultAdmin(); got != "http://127.0.0.1:9644" {
		t.Errorf("without %s: %q", adminEnv, got)
	}
	env[adminEnv] = " 10.0.0.1:9644 "
	if got := defaultAdmin(); got != "10.0.0.1:9644" {
		t.Errorf("with %s: %q", adminEnv, got)
	}
	cl, err := newAdminClient("10.0.0.1:9644/")
	if err != nil || cl.base != "http://10.0.0.1:9644" {
		t.Errorf("newAdminClient: %+v, %v", cl, err)
	}
	if _, err := newAdminClient("ftp://x"); err == nil || !strings.Contains(err.Error(), "want a URL") {
		t.Errorf("newAdminClient(ftp://x): %v", err)
	}
}

func TestCLITransformParseFromOffset(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"earliest", "earliest", ""},
		{"latest", "latest", ""},
		{"@1700000000123", "@1700000000123", ""},
		{"@2023-11-14T22:13:20.123Z", "@1700000000123", ""},
		{"@2023-11-14T23:13:20.123+01:00", "@1700000000123", ""},
		{"@yesterday", "", "after @ give unix milliseconds"},
		{"1700000000123", "", "want earliest, latest or @TIMESTAMP"},
	} {
		got, err := parseFromOffset(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestCLISmartModuleBuiltin runs the built-in modules, which the broker
// serves without storing them, by name and by Fluvio's name for jolt.
func TestCLISmartModuleBuiltin(t *testing.T) {
	c := newSMCLI(t)
	out := c.mustAdmin(runSmartModule, "", "test", "regex-filter", "--params", "regex=^a", "--text", "apple", "--text", "banana")
	if out != "apple\n" {
		t.Errorf("regex-filter: %q", out)
	}
	// The transforms.yml of Fluvio's jolt documentation, as written.
	yml := writeFile(t, "jolt.yml", `transforms:
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec:
            quote: ""
`)
	out = c.mustAdmin(runSmartModule, `{"quote":{"text":"Be yourself","author":"Oscar Wilde"}}`+"\n", "test", "--transforms-file", yml)
	if out != `{"text":"Be yourself","author":"Oscar Wilde"}`+"\n" {
		t.Errorf("jolt: %q", out)
	}
	c.mustRun(runTopic, "", "create", "src", "--partitions", "1")
	c.mustRun(runProduce, "apple\nbanana\n", "src")
	if out := c.mustRun(runConsume, "", "src", "-B", "-d", "--smartmodule", "regex-filter", "--params", "regex=an"); out != "banana\n" {
		t.Errorf("consume --smartmodule regex-filter: %q", out)
	}
}
