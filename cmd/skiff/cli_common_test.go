package main

import (
	"bytes"
	"flag"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

type runFunc func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// testCLI runs subcommands in-process against one broker address.
type testCLI struct {
	t       *testing.T
	brokers string
}

// newTestCLI starts an in-process kfake cluster for the test.
func newTestCLI(t *testing.T) testCLI {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return testCLI{t, strings.Join(c.ListenAddrs(), ",")}
}

// run runs fn with args and --brokers, feeding it stdin.
func (c testCLI) run(fn runFunc, stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = fn(append(args, "--brokers", c.brokers), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun is run that fails the test unless fn exits 0; it returns stdout.
func (c testCLI) mustRun(fn runFunc, stdin string, args ...string) string {
	c.t.Helper()
	code, stdout, stderr := c.run(fn, stdin, args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d\nstderr: %s", args, code, stderr)
	}
	return stdout
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestCLINoBroker(t *testing.T) {
	c := testCLI{t, closedAddr(t)}
	want := "no broker at " + c.brokers + ": start one with `skiff server` (or pass --brokers / set SKIFF_BROKERS)\n"
	for _, tc := range []struct {
		name string
		fn   runFunc
		args []string
	}{
		{"topic create", runTopic, []string{"create", "t"}},
		{"topic list", runTopic, []string{"list"}},
		{"topic describe", runTopic, []string{"describe", "t"}},
		{"topic delete", runTopic, []string{"delete", "t"}},
		{"produce", runProduce, []string{"t"}},
		{"consume", runConsume, []string{"t", "-B", "-d"}},
	} {
		code, _, stderr := c.run(tc.fn, "a\n", tc.args...)
		if code != 1 || stderr != "skiff "+tc.name+": "+want {
			t.Errorf("%s: exit %d, stderr %q; want exit 1, %q", tc.name, code, stderr, want)
		}
	}
}

func TestCLIDefaultBrokers(t *testing.T) {
	defer func(f func(string) string) { getenv = f }(getenv)
	env := map[string]string{}
	getenv = func(k string) string { return env[k] }
	if got := defaultBrokers(); got != "127.0.0.1:9092" {
		t.Errorf("without %s: %q", brokersEnv, got)
	}
	env[brokersEnv] = " a:1,b:2 "
	if got := defaultBrokers(); got != "a:1,b:2" {
		t.Errorf("with %s: %q", brokersEnv, got)
	}
}

func TestCLIParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args, positional []string
		n                int
		sep              string
	}{
		{[]string{"orders"}, []string{"orders"}, -1, ""},
		{[]string{"orders", "--n", "3"}, []string{"orders"}, 3, ""},
		{[]string{"-n", "3", "orders", "x"}, []string{"orders", "x"}, 3, ""},
		{[]string{"orders", "--", "-n"}, []string{"orders", "-n"}, -1, ""},
		{[]string{"--sep", "--", "orders", "-n", "2"}, []string{"orders"}, 2, "--"},
		{[]string{"--offset", "-5"}, nil, -1, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", -1, "")
		sep := fs.String("sep", "", "")
		fs.Int("offset", 0, "")
		pos, err := parseFlags(fs, tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.positional) || *n != tc.n || *sep != tc.sep {
			t.Errorf("%q: positional %q n=%d sep=%q err=%v; want %q n=%d sep=%q",
				tc.args, pos, *n, *sep, err, tc.positional, tc.n, tc.sep)
		}
	}
}

func TestCLIExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{kerr.TopicAlreadyExists, "topic t already exists: pick another name or `skiff topic delete t` [TOPIC_ALREADY_EXISTS: "},
		{kerr.UnknownTopicOrPartition, "topic t does not exist: create it with `skiff topic create t` [UNKNOWN_TOPIC_OR_PARTITION: "},
		{kerr.OffsetOutOfRange, "OFFSET_OUT_OF_RANGE: "},
		{io.ErrUnexpectedEOF, "unexpected EOF"},
	} {
		if got := explain(tc.err, "t", ""); !strings.HasPrefix(got, tc.want) {
			t.Errorf("explain(%v) = %q; want prefix %q", tc.err, got, tc.want)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	c := testCLI{t, closedAddr(t)} // usage errors come before connecting
	for _, tc := range []struct {
		fn   runFunc
		args []string
		want string
	}{
		{runTopic, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{runTopic, []string{"create"}, "missing argument"},
		{runTopic, []string{"create", "a", "b"}, `unexpected argument "b"`},
		{runTopic, []string{"create", "a", "--config", "novalue"}, "want key=value"},
		{runProduce, []string{"t", "--acks", "2"}, `--acks "2"`},
		{runProduce, []string{"t", "--compression", "brotli"}, `--compression "brotli"`},
		{runConsume, []string{"t", "-B", "--offset", "3"}, "pass one"},
		{runConsume, []string{"t", "--format", "{{nope}}"}, "unknown placeholder {{nope}}"},
		{runConsume, []string{"t", "--max", "-1"}, "--max -1"},
	} {
		code, _, stderr := c.run(tc.fn, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestCLIDispatch checks that main's command table reaches the client
// subcommands.
func TestCLIDispatch(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(run, "", "topic", "create", "orders", "--partitions", "2")
	if out := c.mustRun(run, "", "topic", "list"); !strings.Contains(out, "orders") {
		t.Errorf("topic list: %q", out)
	}
}
