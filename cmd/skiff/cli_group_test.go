package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The TestCLIGroup* tests that need a broker run the real binary against a
// real `skiff server` process (the helpers of e2e_test.go), as a user would.

// groupRows returns the rows of describe's partition table as
// "topic partition current end lag consumer host client", spaces squeezed.
func groupRows(t *testing.T, out string) []string {
	t.Helper()
	i := strings.Index(out, "TOPIC ")
	if i < 0 {
		t.Fatalf("describe has no partition table:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out[i:]), "\n")
	var rows []string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	return rows
}

// wantRows checks describe's partition table, row by row.
func wantRows(t *testing.T, out string, want ...string) {
	t.Helper()
	if got := groupRows(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("describe rows:\n%s\nwant:\n%s\nfull output:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

// skiffFails runs a command that must exit 1 and returns its stderr.
func skiffFails(t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, err := skiffCmd(t, "", args...)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("skiff %s: %v, want exit 1\n%s", strings.Join(args, " "), err, errOut)
	}
	return errOut
}

// TestCLIGroupLifecycle: list, describe with right lag numbers, every
// reset-offsets mode, refusal while the group has a member, and delete.
func TestCLIGroupLifecycle(t *testing.T) {
	addr := freePort(t)
	startServer(t, addr, t.TempDir())
	b := "--brokers=" + addr

	// Records are stamped in 2100 below: lift the one-hour future bound (Kafka 4's default).
	mustSkiff(t, "", "topic", "create", "events", "--partitions", "3", "--config", "message.timestamp.after.max.ms=9223372036854775807", b)
	var rs []*kgo.Record
	for i := range 5 {
		rs = append(rs, rec("events", 0, fmt.Sprint("p0-", i)))
	}
	for i := range 3 {
		rs = append(rs, rec("events", 1, fmt.Sprint("p1-", i)))
	}
	produceRecords(t, addr, rs...)

	if out := mustSkiff(t, "", "group", "list", b); strings.TrimSpace(out) != "GROUP  TYPE  STATE  MEMBERS  PROTOCOL" {
		t.Fatalf("list without groups: %q", out)
	}

	// A group consumer reads everything and commits it; partition 2 has
	// nothing, and its start (0) is committed all the same.
	out := mustSkiff(t, "", "consume", "events", "--group", "g", "-B", "-d", b)
	if n := strings.Count(out, "\n"); n != 8 {
		t.Fatalf("consume --group -B -d printed %d records:\n%s", n, out)
	}
	out = mustSkiff(t, "", "group", "list", b)
	if !regexp.MustCompile(`(?m)^g +classic +Empty +0 +-$`).MatchString(out) {
		t.Fatalf("list:\n%s", out)
	}
	out = mustSkiff(t, "", "group", "describe", "g", b)
	for _, want := range []string{"Group:     g\n", "Type:      classic\n", "State:     Empty\n", "Members:   0\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe lacks %q:\n%s", want, out)
		}
	}
	wantRows(t, out, "events 0 5 5 0 - - -", "events 1 3 3 0 - - -", "events 2 0 0 0 - - -")

	// --to-offset, bounded to each partition (with a warning).
	out, errOut, err := skiffCmd(t, "", "group", "reset-offsets", "g", "--topic", "events", "--to-offset", "2", b)
	if err != nil {
		t.Fatalf("reset --to-offset: %v\n%s", err, errOut)
	}
	if want := "TOPIC   PARTITION  NEW-OFFSET\nevents  0          2\nevents  1          2\nevents  2          0\nreset the offsets of group g on 3 partitions\n"; out != want {
		t.Fatalf("reset --to-offset printed:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "offset 2 is outside events-2 (0 to 0): using 0") {
		t.Fatalf("no warning for an offset past the end: %q", errOut)
	}
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 2 5 3 - - -", "events 1 2 3 1 - - -", "events 2 0 0 0 - - -")

	// --to-earliest of one partition.
	mustSkiff(t, "", "group", "reset-offsets", "g", "--topic", "events", "--partition", "1", "--to-earliest", b)
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 2 5 3 - - -", "events 1 0 3 3 - - -", "events 2 0 0 0 - - -")

	// --to-latest, first as a dry run that changes nothing.
	out = mustSkiff(t, "", "group", "reset-offsets", "g", "--topic", "events", "--to-latest", "--dry-run", b)
	if !strings.Contains(out, "events  0          5\n") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run printed:\n%s", out)
	}
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 2 5 3 - - -", "events 1 0 3 3 - - -", "events 2 0 0 0 - - -")
	mustSkiff(t, "", "group", "reset-offsets", "g", "--topic", "events", "--to-latest", b)
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 5 5 0 - - -", "events 1 3 3 0 - - -", "events 2 0 0 0 - - -")

	// --to-datetime: the first record at or after the time, or the end.
	produceRecords(t, addr,
		&kgo.Record{Topic: "events", Partition: 0, Value: []byte("future-1"), Timestamp: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
		&kgo.Record{Topic: "events", Partition: 0, Value: []byte("future-2"), Timestamp: time.Date(2100, 1, 2, 0, 0, 0, 0, time.UTC)})
	mustSkiff(t, "", "group", "reset-offsets", "g", "--topic", "events", "--to-datetime", "2100-01-01T12:00:00Z", b)
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 6 7 1 - - -", "events 1 3 3 0 - - -", "events 2 0 0 0 - - -")
	mustSkiff(t, "", "group", "reset-offsets", "g", "--topic", "events", "--to-datetime", "2000-01-01T01:00:00+01:00", b)
	wantRows(t, mustSkiff(t, "", "group", "describe", "g", b),
		"events 0 0 7 7 - - -", "events 1 0 3 3 - - -", "events 2 0 0 0 - - -")

	// While a consumer is a member: describe shows it on each partition;
	// reset-offsets and delete refuse, saying what to do.
	member := joinMember(t, addr, "g", "events")
	out = mustSkiff(t, "", "group", "describe", "g", b)
	memberID, _ := member.GroupMetadata()
	for _, want := range []string{"State:     Stable\n", "Members:   1\n", "Protocol:  cooperative-sticky (consumer)\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe with a member lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(memberID) + ` +/127\.0\.0\.1 +tester +3$`).MatchString(out) {
		t.Fatalf("members table lacks %s:\n%s", memberID, out)
	}
	for _, row := range groupRows(t, out) {
		if !strings.HasSuffix(row, " "+memberID+" /127.0.0.1 tester") {
			t.Fatalf("row without the member: %q\n%s", row, out)
		}
	}
	if !regexp.MustCompile(`(?m)^g +classic +Stable +1 +cooperative-sticky$`).MatchString(mustSkiff(t, "", "group", "list", b)) {
		t.Fatal("list does not show the member")
	}
	errOut = skiffFails(t, "group", "reset-offsets", "g", "--topic", "events", "--to-earliest", b)
	if !strings.Contains(errOut, "group g is Stable with 1 member: offsets can only be reset while it has none; stop its consumers first") {
		t.Fatalf("reset with a member: %q", errOut)
	}
	errOut = skiffFails(t, "group", "delete", "g", b)
	if !strings.Contains(errOut, "group g is Stable with 1 member: it can only be deleted while it has none; stop its consumers first") || !strings.Contains(errOut, "NON_EMPTY_GROUP") {
		t.Fatalf("delete with a member: %q", errOut)
	}
	member.Close() // leaves the group

	out = mustSkiff(t, "", "group", "delete", "g", b)
	if out != "deleted group g\n" {
		t.Fatalf("delete: %q", out)
	}
	if out := mustSkiff(t, "", "group", "list", b); strings.Contains(out, "\ng ") {
		t.Fatalf("list after delete:\n%s", out)
	}
	errOut = skiffFails(t, "group", "describe", "g", b)
	if !strings.Contains(errOut, "group g does not exist: see `skiff group list`") {
		t.Fatalf("describe after delete: %q", errOut)
	}
	errOut = skiffFails(t, "group", "reset-offsets", "new", "--topic", "nope", "--to-latest", b)
	if !strings.Contains(errOut, "topic nope does not exist") {
		t.Fatalf("reset of an unknown topic: %q", errOut)
	}
	errOut = skiffFails(t, "group", "reset-offsets", "new", "--topic", "events", "--partition", "3", "--to-latest", b)
	if !strings.Contains(errOut, "topic events has no partition 3: pick one of 0 to 2") {
		t.Fatalf("reset of an unknown partition: %q", errOut)
	}
}

// joinMember starts a franz-go group consumer and returns once the group
// is Stable with it.
func joinMember(t *testing.T, addr, group, topic string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("tester"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil && !cl.PollFetches(ctx).IsClientClosed() {
		}
	}()
	for {
		out, _, _ := skiffCmd(t, "", "group", "describe", group, "--brokers", addr)
		if strings.Contains(out, "State:     Stable\n") {
			return cl
		}
		if ctx.Err() != nil {
			t.Fatalf("group %s did not become Stable:\n%s", group, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCLIGroupConsumeResume: consume --group commits what it printed and
// the next run, after a server restart, starts right after it; a new group
// without -B starts at the end but reads what arrives while it is stopped.
func TestCLIGroupConsumeResume(t *testing.T) {
	addr := freePort(t)
	dir := t.TempDir()
	srv, _ := startServer(t, addr, dir)
	b := "--brokers=" + addr

	mustSkiff(t, "", "topic", "create", "jobs", "--partitions", "1", b)
	mustSkiff(t, "v0\nv1\nv2\nv3\nv4\nv5\nv6\nv7\nv8\nv9\n", "produce", "jobs", b)
	if out := mustSkiff(t, "", "consume", "jobs", "--group", "workers", "-B", "--max", "4", b); out != "v0\nv1\nv2\nv3\n" {
		t.Fatalf("first run: %q", out)
	}
	wantRows(t, mustSkiff(t, "", "group", "describe", "workers", b), "jobs 0 4 10 6 - - -")
	if out := mustSkiff(t, "", "consume", "jobs", "--group", "fresh", "-d", b); out != "" {
		t.Fatalf("a new group without -B read old records: %q", out)
	}

	srv.stop(t)
	startServer(t, addr, dir)

	// -B only applies where nothing is committed.
	if out := mustSkiff(t, "", "consume", "jobs", "--group", "workers", "-B", "-d", b); out != "v4\nv5\nv6\nv7\nv8\nv9\n" {
		t.Fatalf("after restart: %q", out)
	}
	wantRows(t, mustSkiff(t, "", "group", "describe", "workers", b), "jobs 0 10 10 0 - - -")
	if out := mustSkiff(t, "", "consume", "jobs", "--group", "workers", "-d", b); out != "" {
		t.Fatalf("nothing left, yet: %q", out)
	}
	mustSkiff(t, "v10\nv11\n", "produce", "jobs", b)
	if out := mustSkiff(t, "", "consume", "jobs", "--group", "fresh", "-d", "--format", "{{offset}}:{{value}}", b); out != "10:v10\n11:v11\n" {
		t.Fatalf("the new group missed what arrived while it was stopped: %q", out)
	}
}

func TestCLIGroupUsage(t *testing.T) {
	c := testCLI{t, closedAddr(t)}
	for _, tc := range []struct {
		fn   runFunc
		args []string
		want string
	}{
		{runGroup, []string{"reset-offsets", "g", "--to-latest"}, "--topic is required"},
		{runGroup, []string{"reset-offsets", "g", "--topic", "t"}, "pass one of --to-earliest, --to-latest, --to-offset N, --to-datetime TIME"},
		{runGroup, []string{"reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-offset", "3"}, "pass one of"},
		{runGroup, []string{"reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"}, `--to-datetime "yesterday": want RFC 3339`},
		{runGroup, []string{"reset-offsets", "g", "--topic", "t", "--partition", "-2", "--to-latest"}, "--partition -2: partitions count from 0"},
		{runGroup, []string{"describe"}, "missing argument"},
		{runGroup, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{runConsume, []string{"t", "--group", "g", "-p", "0"}, "-p and --group: the group assigns the partitions; drop -p"},
	} {
		code, _, stderr := c.run(tc.fn, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, out, _ := c.run(runGroup, "", "help"); code != 0 || !strings.Contains(out, "reset-offsets") {
		t.Errorf("group help: exit %d, %q", code, out)
	}
	if code, out, _ := c.run(run, "", "help"); code != 0 || !strings.Contains(out, "group ") {
		t.Errorf("help lacks the group command: exit %d, %q", code, out)
	}
}

func TestCLIGroupNoBroker(t *testing.T) {
	c := testCLI{t, closedAddr(t)}
	want := "no broker at " + c.brokers + ": start one with `skiff server`"
	for _, args := range [][]string{
		{"list"}, {"describe", "g"}, {"delete", "g"}, {"reset-offsets", "g", "--topic", "t", "--to-earliest"},
	} {
		code, _, stderr := c.run(runGroup, "", args...)
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("group %v: exit %d, %q; want exit 1 and %q", args, code, stderr, want)
		}
	}
	code, _, stderr := c.run(runConsume, "", "t", "--group", "g")
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("consume --group: exit %d, %q", code, stderr)
	}
}
