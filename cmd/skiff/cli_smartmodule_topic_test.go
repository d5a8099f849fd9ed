package main

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/skiffstream/skiff/transforms/chain"
)

// Produce-time chains, read-time views and `consume --smartmodule`,
// through the topic, produce and consume commands.

// keepYAML is a transforms.yml that keeps the records matching regex,
// with the module stored as "keep".
func keepYAML(regex string) string {
	return "transforms:\n  - uses: keep\n    with:\n      regex: \"" + regex + "\"\n"
}

func TestCLISmartModuleIngestFilter(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("keep", "regex-filter")
	yml := writeFile(t, "keep.yml", keepYAML("^keep"))
	out := c.mustRun(runTopic, "", "create", "in", "--partitions", "1", "--ingest-transforms-file", yml)
	if out != "created topic in (1 partition, replication factor 1)\n" {
		t.Errorf("create: %q", out)
	}
	out = c.mustRun(runTopic, "", "describe", "in")
	if want := "  skiff.ingest.transforms:\n    transforms:\n      - uses: keep\n"; !strings.Contains(out, want) {
		t.Errorf("describe lacks %q:\n%s", want, out)
	}

	// One record per produce request, so each acknowledgement is the
	// offset of its record: the kept ones are numbered densely.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers), kgo.DefaultProduceTopic("in"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var acked []int64
	for _, v := range []string{"keep 0", "drop 1", "keep 2", "drop 3", "drop 4", "keep 5", "keep 6"} {
		r := &kgo.Record{Value: []byte(v)}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatalf("produce %q: %v", v, err)
		}
		if strings.HasPrefix(v, "keep") {
			acked = append(acked, r.Offset)
		}
	}
	if want := []int64{0, 1, 2, 3}; !reflect.DeepEqual(acked, want) {
		t.Errorf("acknowledged offsets of the kept records %v; want %v", acked, want)
	}
	out = c.mustRun(runConsume, "", "in", "-B", "-d", "--format", "{{offset}}:{{value}}")
	if want := "0:keep 0\n1:keep 2\n2:keep 5\n3:keep 6\n"; out != want {
		t.Errorf("stored records %q; want %q", out, want)
	}

	// Without the chain, everything is stored again.
	out = c.mustRun(runTopic, "", "alter", "in", "--delete-config", "skiff.ingest.transforms")
	if out != "altered topic in: reset skiff.ingest.transforms\n" {
		t.Errorf("alter: %q", out)
	}
	c.mustRun(runProduce, "drop 7\n", "in")
	out = c.mustRun(runConsume, "", "in", "--offset", "4", "-d", "--format", "{{offset}}:{{value}}")
	if out != "4:drop 7\n" {
		t.Errorf("after removing the chain: %q", out)
	}
	if out := c.mustRun(runTopic, "", "describe", "in"); strings.Contains(out, "skiff.ingest") {
		t.Errorf("describe after alter still shows the chain:\n%s", out)
	}
}

func TestCLISmartModuleIngestErrors(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("project", "json-projection")
	yml := writeFile(t, "project.yml", "transforms:\n  - uses: project\n    with:\n      fields: id\n")
	c.mustRun(runTopic, "", "create", "in", "--partitions", "1", "--ingest-transforms-file", yml)
	c.mustRun(runTopic, "", "create", "dlq", "--partitions", "1")

	// Policy fail: the producer gets the error and nothing of the batch
	// is stored.
	code, _, stderr := c.run(runProduce, "{\"id\":1,\"x\":2}\nnot json\n", "in")
	if code != 1 || !strings.Contains(stderr, "INVALID_RECORD") {
		t.Errorf("produce under fail: exit %d, stderr %q; want 1 and INVALID_RECORD", code, stderr)
	}
	if out := c.mustRun(runConsume, "", "in", "-B", "-d"); out != "" {
		t.Errorf("stored under fail: %q", out)
	}

	// Policy dead-letter: the bad record goes to dlq with headers naming
	// the error; the good one is stored, projected.
	out := c.mustRun(runTopic, "", "alter", "in", "--ingest-error-policy", "dead-letter:dlq")
	if out != "altered topic in: set skiff.ingest.error.policy\n" {
		t.Errorf("alter: %q", out)
	}
	c.mustRun(runProduce, "{\"id\":1,\"x\":2}\nk|not json\n", "in", "--key-separator", "|")
	if out := c.mustRun(runConsume, "", "in", "-B", "-d"); out != "{\"id\":1}\n" {
		t.Errorf("stored under dead-letter: %q", out)
	}
	out = c.mustRun(runConsume, "", "dlq", "-B", "-d", "--format", "{{key}}={{value}} {{headers}}")
	for _, want := range []string{"k=not json ", "skiff.error=", "not a JSON object", "skiff.module=project",
		"skiff.source.topic=in", "skiff.source.partition=0", "skiff.source.offset=-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("dead letter lacks %q: %q", want, out)
		}
	}

	// A module that does not exist is refused when the topic is made.
	missing := writeFile(t, "missing.yml", "transforms:\n  - uses: nope\n")
	code, _, stderr = c.run(runTopic, "", "create", "other", "--ingest-transforms-file", missing)
	if code != 1 || !strings.Contains(stderr, `no SmartModule "nope"`) || !strings.Contains(stderr, "[INVALID_CONFIG]") {
		t.Errorf("create with a missing module: exit %d, stderr %q", code, stderr)
	}
	// A transforms.yml that does not parse is refused before any request.
	bad := writeFile(t, "bad.yml", "transforms:\n  - use: keep\n")
	code, _, stderr = c.run(runTopic, "", "create", "other", "--ingest-transforms-file", bad)
	if code != 2 || !strings.Contains(stderr, "bad.yml: transforms.yml line 2") {
		t.Errorf("create with a bad transforms.yml: exit %d, stderr %q", code, stderr)
	}
}

func TestCLISmartModuleView(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("keep", "regex-filter")
	c.createModule("split", "word-split")
	c.mustRun(runTopic, "", "create", "src", "--partitions", "2")
	produceRecords(t, c.brokers,
		rec("src", 0, "apple pie"), rec("src", 0, "banana"), rec("src", 0, "avocado"), rec("src", 0, "cherry"),
		rec("src", 1, "blueberry"), rec("src", 1, "apricot"))

	yml := writeFile(t, "keep.yml", keepYAML("^a"))
	out := c.mustRun(runTopic, "", "create", "a-fruit", "--view-of", "src", "--transforms-file", yml)
	if out != "created view a-fruit of src (2 partitions; SmartModules: keep)\n" {
		t.Errorf("create view: %q", out)
	}
	// Only the matches, at their source offsets; -d ends although the
	// last record of partition 0 is filtered out.
	out = c.mustRun(runConsume, "", "a-fruit", "-B", "-d", "--format", "{{partition}}:{{offset}}:{{value}}")
	if got, want := sortedLines(out), []string{"0:0:apple pie", "0:2:avocado", "1:1:apricot"}; !reflect.DeepEqual(got, want) {
		t.Errorf("view: %q; want %q", got, want)
	}
	out = c.mustRun(runConsume, "", "a-fruit", "-p", "0", "--offset", "1", "-d", "--format", "{{offset}}:{{value}}")
	if out != "2:avocado\n" {
		t.Errorf("view from offset 1: %q", out)
	}
	// A plain Kafka client reads the view too, following it.
	produceRecords(t, c.brokers, rec("src", 1, "almond"))
	out = c.mustRun(runConsume, "", "a-fruit", "-p", "1", "-B", "--max", "2", "--format", "{{offset}}:{{value}}")
	if out != "1:apricot\n2:almond\n" {
		t.Errorf("view followed with --max: %q", out)
	}

	// A chain's filter changes with topic alter.
	c.mustRun(runTopic, "", "alter", "a-fruit", "--transforms-file", writeFile(t, "b.yml", keepYAML("^b")))
	out = c.mustRun(runConsume, "", "a-fruit", "-B", "-d")
	if got, want := sortedLines(out), []string{"banana", "blueberry"}; !reflect.DeepEqual(got, want) {
		t.Errorf("view after alter: %q; want %q", got, want)
	}

	// A module that may write several records per input cannot be a view.
	split := writeFile(t, "split.yml", "transforms:\n  - uses: split\n")
	code, _, stderr := c.run(runTopic, "", "create", "words", "--view-of", "src", "--transforms-file", split)
	if code != 1 || !strings.Contains(stderr, "array-map module may emit more than one record per input") ||
		!strings.Contains(stderr, "skiff transform deploy") {
		t.Errorf("array-map view: exit %d, stderr %q", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "v", "--transforms-file", split}, "pass --view-of TOPIC too"},
		{[]string{"create", "v", "--view-of", "src"}, "a view needs --transforms-file F"},
		{[]string{"create", "v", "--view-of", "src", "--transforms-file", split, "--partitions", "3"}, "drop --partitions"},
		{[]string{"alter", "src"}, "nothing to change"},
		{[]string{"alter", "src", "--ingest-error-policy", "retry"}, "use fail, skip or dead-letter:TOPIC"},
	} {
		code, _, stderr := c.run(runTopic, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestCLISmartModuleConsume(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("keep", "regex-filter")
	c.createModule("split", "word-split")
	c.mustRun(runTopic, "", "create", "src", "--partitions", "1")
	c.mustRun(runProduce, "apple\nbanana\navocado\ncherry\n", "src")

	out := c.mustRun(runConsume, "", "src", "-B", "-d", "--smartmodule", "keep", "--params", "regex=^a", "--format", "{{topic}} {{offset}}:{{value}}")
	if out != "src 0:apple\nsrc 2:avocado\n" {
		t.Errorf("--smartmodule: %q", out)
	}
	out = c.mustRun(runConsume, "", "src", "-B", "-d", "--transforms-file", writeFile(t, "c.yml", keepYAML("rr")))
	if out != "cherry\n" {
		t.Errorf("--transforms-file: %q", out)
	}
	code, _, stderr := c.run(runConsume, "", "src", "-B", "-d", "--smartmodule", "split")
	if code != 1 || !strings.HasPrefix(stderr, "skiff consume: step 1 of the view") || !strings.Contains(stderr, "array-map module may emit more than one record per input") {
		t.Errorf("--smartmodule split: exit %d, stderr %q", code, stderr)
	}
	// A module failing on a record: the view's Fetch fails, and says so.
	c.createModule("project", "json-projection")
	code, _, stderr = c.run(runConsume, "", "src", "-B", "-d", "--smartmodule", "project", "--params", "fields=id")
	if code != 1 || !strings.Contains(stderr, "the view's SmartModules failed on a record; the broker's log says which and why") {
		t.Errorf("--smartmodule project on text: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = c.run(runConsume, "", "nope", "-B", "-d", "--smartmodule", "keep", "--params", "regex=x")
	if code != 1 || !strings.Contains(stderr, "skiff.view.of=nope: no such topic") {
		t.Errorf("--smartmodule on a missing topic: exit %d, stderr %q", code, stderr)
	}

	// Following, then cancelled as by Ctrl-C: the view goes too.
	format, _ := parseFormat("{{value}}")
	ctx, cancel := context.WithCancel(context.Background())
	var outBuf, errBuf syncBuilder // written by consume, read by the test
	done := make(chan int)
	go func() {
		o := consumeOptions{topic: "src", partition: -1, format: format}
		done <- consumeThroughView(ctx, c.brokers, o, consumeSmartModule{module: "keep", params: keyValueFlags{"regex": "^z"}}, &outBuf, &errBuf)
	}()
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(c.mustRun(runTopic, "", "list"), viewPrefix) })
	c.mustRun(runProduce, "zucchini\nbanana\n", "src")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(outBuf.String(), "zucchini") })
	cancel()
	select {
	case code := <-done:
		if code != 0 || outBuf.String() != "zucchini\n" {
			t.Errorf("follow: exit %d, stdout %q, stderr %q", code, outBuf.String(), errBuf.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("consume did not return after cancel")
	}
	if out := c.mustRun(runTopic, "", "list"); strings.Contains(out, viewPrefix) {
		t.Errorf("a temporary view is left:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"src", "--smartmodule", "keep", "--transforms-file", "f"}, "pass one"},
		{[]string{"src", "--params", "a=b"}, "--params are parameters of --smartmodule"},
		{[]string{"src", "--smartmodule", "keep", "--group", "g"}, "create a view"},
	} {
		code, _, stderr := c.run(runConsume, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// syncBuilder is a strings.Builder safe for one writer and one reader.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLISmartModuleSingleStepYAML(t *testing.T) {
	yml, err := singleStepYAML("infinyon/jolt@0.4.1", map[string]string{"b": "true", "a": "x: y\nz"})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := chain.ParseSpec([]byte(yml))
	if err != nil {
		t.Fatalf("%v\n%s", err, yml)
	}
	if got := fmt.Sprint(spec.Steps[0].Uses, " ", spec.Steps[0].With); len(spec.Steps) != 1 || got != "infinyon/jolt@0.4.1 map[a:x: y\nz b:true]" {
		t.Errorf("round trip: %q\n%s", got, yml)
	}
}
