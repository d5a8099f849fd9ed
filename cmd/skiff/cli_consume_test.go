package main

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceRecords writes records to the partitions they name.
func produceRecords(t *testing.T, brokers string, rs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append(seedOpts(brokers), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func rec(topic string, partition int32, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
}

func TestCLIConsumeFormat(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "fmt", "--partitions", "2")
	produceRecords(t, c.brokers, &kgo.Record{
		Topic: "fmt", Partition: 1, Key: []byte("k"), Value: []byte("v"),
		Timestamp: time.UnixMilli(1700000000123),
		Headers:   []kgo.RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2", Value: []byte("y")}},
	})
	out := c.mustRun(runConsume, "", "fmt", "-B", "-d",
		"--format", `{{topic}}/{{partition}}@{{offset}}\t{{timestamp}} {{key}}={{value}} [{{headers}}]`)
	if want := "fmt/1@0\t1700000000123 k=v [h1=x,h2=y]\n"; out != want {
		t.Errorf("got %q; want %q", out, want)
	}
}

func TestCLIParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []formatPart
		err  string
	}{
		{"{{value}}", []formatPart{{field: "value"}}, ""},
		{`k={{ key }}\n`, []formatPart{{lit: "k="}, {field: "key"}, {lit: "\n"}}, ""},
		{`a\\tb`, []formatPart{{lit: `a\tb`}}, ""},
		{"", nil, ""},
		{"{{value", nil, "unclosed"},
		{"{{time}}", nil, "unknown placeholder {{time}}"},
	} {
		got, err := parseFormat(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v; want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCLIConsumeOffset(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "off", "--partitions", "1")
	c.mustRun(runProduce, "v0\nv1\nv2\nv3\nv4\n", "off")
	for _, tc := range []struct {
		offset, want string
	}{
		{"0", "v0 v1 v2 v3 v4"},
		{"2", "v2 v3 v4"},
		{"-2", "v3 v4"},
		{"-100", "v0 v1 v2 v3 v4"}, // before the start: from the start
		{"5", ""},                  // at the end
		{"100", ""},                // past the end: from the end
	} {
		out := c.mustRun(runConsume, "", "off", "--offset", tc.offset, "-d")
		if got := strings.Join(strings.Fields(out), " "); got != tc.want {
			t.Errorf("--offset %s: %q; want %q", tc.offset, got, tc.want)
		}
	}
	if out := c.mustRun(runConsume, "", "off", "-B", "-d", "--max", "2"); out != "v0\nv1\n" {
		t.Errorf("--max 2: %q", out)
	}
}

func TestCLIConsumePartition(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "parts", "--partitions", "3")
	produceRecords(t, c.brokers,
		rec("parts", 0, "a0"), rec("parts", 1, "b0"), rec("parts", 2, "c0"),
		rec("parts", 1, "b1"), rec("parts", 0, "a1"), rec("parts", 1, "b2"))
	out := c.mustRun(runConsume, "", "parts", "-p", "1", "-B", "-d", "--format", "{{partition}}:{{offset}}:{{value}}")
	if want := "1:0:b0\n1:1:b1\n1:2:b2\n"; out != want {
		t.Errorf("-p 1: %q; want %q", out, want)
	}
	out = c.mustRun(runConsume, "", "parts", "-p", "0", "--offset", "-1", "-d")
	if want := "a1\n"; out != want {
		t.Errorf("-p 0 --offset -1: %q; want %q", out, want)
	}
	out = c.mustRun(runConsume, "", "parts", "-B", "-d")
	if got, want := sortedLines(out), []string{"a0", "a1", "b0", "b1", "b2", "c0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("all partitions: %q; want %q", got, want)
	}

	code, _, stderr := c.run(runConsume, "", "parts", "-p", "3", "-B", "-d")
	if want := "skiff consume: topic parts has no partition 3: pick one of 0 to 2 with -p\n"; code != 1 || stderr != want {
		t.Errorf("-p 3: exit %d, stderr %q; want %q", code, stderr, want)
	}
}

// TestCLIConsumeEndsAtOnce checks that -d does not wait for records that
// are not there: on an empty topic, and when starting at the end.
func TestCLIConsumeEndsAtOnce(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "empty", "--partitions", "3")
	c.mustRun(runTopic, "", "create", "full", "--partitions", "1")
	c.mustRun(runProduce, "a\nb\n", "full")
	for _, args := range [][]string{
		{"empty", "-B", "-d"},
		{"empty", "-d"},
		{"full", "-d"}, // no -B: starts at the end
	} {
		start := time.Now()
		out := c.mustRun(runConsume, "", args...)
		if out != "" || time.Since(start) > 5*time.Second {
			t.Errorf("%q: %q after %s", args, out, time.Since(start))
		}
	}
}

func TestCLIConsumeUnknownTopic(t *testing.T) {
	c := newTestCLI(t)
	code, _, stderr := c.run(runConsume, "", "nope", "-B", "-d")
	want := "skiff consume: topic nope does not exist: create it with `skiff topic create nope` [UNKNOWN_TOPIC_OR_PARTITION: "
	if code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q...", code, stderr, want)
	}
}

// TestCLIConsumeFollow checks the default: start at the end, print new
// records as they come, and exit cleanly when cancelled (as on SIGINT).
func TestCLIConsumeFollow(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "live", "--partitions", "1")
	c.mustRun(runProduce, "old\n", "live")
	format, _ := parseFormat("{{value}}")

	// --max 2 ends the follow. Records keep coming because the consumer
	// may list the end offsets after any number of them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- consume(ctx, c.brokers, consumeOptions{topic: "live", partition: -1, format: format, max: 2}, &out, &errOut)
	}()
	var code int
	for i := 0; ; i++ {
		produceRecords(t, c.brokers, rec("live", 0, fmt.Sprint("new", i)))
		select {
		case code = <-done:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		break
	}
	lines := strings.Fields(out.String())
	if code != 0 || ctx.Err() != nil || len(lines) != 2 || lines[0] == "old" {
		t.Fatalf("exit %d, ctx %v, stdout %q, stderr %q; want 2 new records", code, ctx.Err(), out.String(), errOut.String())
	}
	var first, second int
	fmt.Sscanf(lines[0], "new%d", &first)
	fmt.Sscanf(lines[1], "new%d", &second)
	if second != first+1 {
		t.Errorf("records %q are not consecutive", lines)
	}

	// Cancelling while waiting for records is a clean exit.
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		done <- consume(ctx, c.brokers, consumeOptions{topic: "live", partition: -1, format: format}, &out, &errOut)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("cancelled: exit %d, stderr %q", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("consume did not return after cancel")
	}
}
