package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestCLITopicLifecycle(t *testing.T) {
	c := newTestCLI(t)

	out := c.mustRun(runTopic, "", "create", "orders", "--partitions", "3", "--replication-factor", "1",
		"--config", "retention.ms=3600000", "--config", "cleanup.policy=compact")
	if want := "created topic orders (3 partitions, replication factor 1)\n"; out != want {
		t.Errorf("create: %q; want %q", out, want)
	}
	c.mustRun(runTopic, "", "create", "audit", "--partitions", "1")

	out = c.mustRun(runTopic, "", "list")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 3 || !regexp.MustCompile(`^NAME +PARTITIONS +REPLICATION$`).MatchString(rows[0]) ||
		!regexp.MustCompile(`^audit +1 +\d+$`).MatchString(rows[1]) ||
		!regexp.MustCompile(`^orders +3 +1$`).MatchString(rows[2]) {
		t.Errorf("list:\n%s", out)
	}

	c.mustRun(runProduce, "a\nb\nc\n", "orders")
	out = c.mustRun(runTopic, "", "describe", "orders")
	for _, want := range []string{
		"Topic:        orders\n",
		"Partitions:   3\n",
		"Replication:  1\n",
		"Configs (non-default):\n  cleanup.policy=compact\n  retention.ms=3600000\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	parts := regexp.MustCompile(`(?m)^(\d) +0 +0 +0 +0 +(\d+)$`).FindAllStringSubmatch(out, -1)
	total := 0
	for _, p := range parts {
		n, _ := strconv.Atoi(p[2])
		total += n
	}
	if len(parts) != 3 || total != 3 {
		t.Errorf("describe: want 3 partition rows (leader 0, replicas 0, isr 0, start 0) ending at 3 records in all:\n%s", out)
	}

	if out := c.mustRun(runTopic, "", "describe", "audit"); !strings.Contains(out, "Configs: all defaults\n") {
		t.Errorf("describe audit:\n%s", out)
	}

	if out := c.mustRun(runTopic, "", "delete", "orders"); out != "deleted topic orders\n" {
		t.Errorf("delete: %q", out)
	}
	if out := c.mustRun(runTopic, "", "list"); strings.Contains(out, "orders") {
		t.Errorf("list after delete:\n%s", out)
	}
}

func TestCLITopicExists(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "orders")
	code, _, stderr := c.run(runTopic, "", "create", "orders")
	want := "skiff topic create: topic orders already exists: pick another name or `skiff topic delete orders` [TOPIC_ALREADY_EXISTS: "
	if code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q...", code, stderr, want)
	}
}

func TestCLITopicUnknown(t *testing.T) {
	c := newTestCLI(t)
	for _, sub := range []string{"describe", "delete"} {
		code, _, stderr := c.run(runTopic, "", sub, "nope")
		want := "skiff topic " + sub + ": topic nope does not exist: create it with `skiff topic create nope` [UNKNOWN_TOPIC_OR_PARTITION: "
		if code != 1 || !strings.HasPrefix(stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q...", sub, code, stderr, want)
		}
	}
}

func TestCLITopicListEmpty(t *testing.T) {
	c := newTestCLI(t)
	code, stdout, stderr := c.run(runTopic, "", "list")
	if code != 0 || strings.TrimSpace(stdout) != "NAME  PARTITIONS  REPLICATION" || !strings.Contains(stderr, "skiff topic create") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
