package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// words returns the words of lines, sorted.
func words(lines ...string) []string {
	var ws []string
	for _, l := range lines {
		ws = append(ws, strings.Fields(l)...)
	}
	slices.Sort(ws)
	return ws
}

// status reads a deployment's status from the admin API.
func (c *smCLI) status(name string) transformStatus {
	c.t.Helper()
	cl, err := newAdminClient(c.admin)
	if err != nil {
		c.t.Fatal(err)
	}
	var st transformStatus
	if err := cl.do(context.Background(), "GET", transformPath(name), nil, "", &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// caughtUp waits until every input partition of a deployment has
// processed up to its end offset, and that end is at least ends[p].
func (c *smCLI) caughtUp(name string, ends map[int32]int64) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := c.status(name)
		done := len(st.Partitions) == len(ends)
		for _, p := range st.Partitions {
			done = done && p.Lag == 0 && p.Progress >= ends[p.Partition]
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("transform %s did not catch up to %v: %+v", name, ends, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLITransformLifecycle(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("split", "word-split")
	c.mustRun(runTopic, "", "create", "lines", "--partitions", "2")
	c.mustRun(runTopic, "", "create", "words", "--partitions", "2")
	first := []string{"the quick brown fox", "jumps over", "the lazy dog"}
	produceRecords(t, c.brokers, rec("lines", 0, first[0]), rec("lines", 1, first[1]), rec("lines", 0, first[2]))

	out := c.mustAdmin(runTransform, "", "deploy", "ws", "--input", "lines", "--output", "words", "--module", "split")
	if out != "deployed transform ws: lines -> words (split), from earliest, error policy fail\n" {
		t.Errorf("deploy: %q", out)
	}
	c.caughtUp("ws", map[int32]int64{0: 2, 1: 1})
	out = c.mustRun(runConsume, "", "words", "-B", "-d", "--format", "{{partition}}:{{value}}")
	if got, want := sortedLines(strings.NewReplacer("0:", "", "1:", "").Replace(out)), words(first...); !slices.Equal(got, want) {
		t.Errorf("words: %q; want %q", got, want)
	}
	// Per-partition order is kept: a partition's words go to the output
	// partition of the same number.
	if !strings.Contains(out, "1:jumps\n1:over\n") {
		t.Errorf("partition 1's words: %q", out)
	}

	out = c.mustAdmin(runTransform, "", "list")
	if !regexp.MustCompile(`(?m)^NAME +INPUT +OUTPUTS +STATE +LAG\nws +lines +words +running +0$`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	out = c.mustAdmin(runTransform, "", "describe", "ws")
	for _, re := range []string{
		`(?m)^Name: +ws$`, `(?m)^Input: +lines$`, `(?m)^Outputs: +words$`, `(?m)^Modules: +split$`,
		`(?m)^From offset: +earliest$`, `(?m)^Error policy: +fail$`, `(?m)^State: +running$`,
		`(?m)^PARTITION +STATE +PROGRESS +END +LAG +IN +OUT +ERROR$`,
		`(?m)^0 +idle +2 +2 +0 +2 +7 +-$`,
		`(?m)^1 +idle +1 +1 +0 +1 +2 +-$`,
		`(?m)^STEP +MODULE +KIND +IN +OUT +DROPPED +ERRORS .*TIME$`,
		`(?m)^1 +split +array-map +3 +9 +0 +0 `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("describe does not match %s:\n%s", re, out)
		}
	}

	// Paused, it leaves new records alone; resumed, it goes on.
	if out := c.mustAdmin(runTransform, "", "pause", "ws"); !strings.HasPrefix(out, "paused transform ws") {
		t.Errorf("pause: %q", out)
	}
	if out := c.mustAdmin(runTransform, "", "list"); !regexp.MustCompile(`(?m)^ws +lines +words +paused +-$`).MatchString(out) {
		t.Errorf("list when paused:\n%s", out)
	}
	produceRecords(t, c.brokers, rec("lines", 1, "paused words"))
	time.Sleep(500 * time.Millisecond)
	if out := c.mustRun(runConsume, "", "words", "-B", "-d"); strings.Contains(out, "paused") {
		t.Errorf("a paused transform wrote: %q", out)
	}
	// The chain is built in the background: starting, then running.
	if out := c.mustAdmin(runTransform, "", "resume", "ws"); !regexp.MustCompile(`^resumed transform ws \((starting|running)\)\n$`).MatchString(out) {
		t.Errorf("resume: %q", out)
	}
	c.caughtUp("ws", map[int32]int64{0: 2, 1: 2})
	if out := c.mustRun(runConsume, "", "words", "-p", "1", "--offset", "2", "-d"); out != "paused\nwords\n" {
		t.Errorf("after resume: %q", out)
	}

	code, _, stderr := c.runAdmin(runTransform, "", "logs", "ws")
	if code != 0 || !strings.Contains(stderr, "written nothing") {
		t.Errorf("logs: exit %d, stderr %q", code, stderr)
	}
	// The module is in use; the input topic too.
	code, _, stderr = c.run(runTopic, "", "delete", "lines")
	if code != 1 || !strings.Contains(stderr, "transform ws") {
		t.Errorf("delete the input: exit %d, stderr %q", code, stderr)
	}
	out = c.mustAdmin(runSmartModule, "", "describe", "split")
	if !strings.Contains(out, "Used by:  transform ws\n") {
		t.Errorf("smartmodule describe:\n%s", out)
	}

	if out := c.mustAdmin(runTransform, "", "delete", "ws"); !strings.HasPrefix(out, "deleted transform ws") {
		t.Errorf("delete: %q", out)
	}
	code, out, stderr = c.runAdmin(runTransform, "", "list")
	if code != 0 || strings.Contains(out, "ws") || !strings.Contains(stderr, "no transforms deployed yet") {
		t.Errorf("list after delete: exit %d, %q, %q", code, out, stderr)
	}
	code, _, stderr = c.runAdmin(runTransform, "", "describe", "ws")
	if code != 1 || !strings.Contains(stderr, "`skiff transform list` shows the deployments") {
		t.Errorf("describe after delete: exit %d, stderr %q", code, stderr)
	}
	c.mustRun(runTopic, "", "delete", "lines")
}

// TestCLITransformRestart checks that a deployment's progress survives a
// restart of the broker: what it had committed is not written again.
func TestCLITransformRestart(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("split", "word-split")
	c.mustRun(runTopic, "", "create", "lines", "--partitions", "1")
	c.mustRun(runTopic, "", "create", "words", "--partitions", "1")
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf("a%d b%d c%d", i, i, i))
	}
	c.mustRun(runProduce, strings.Join(lines[:10], "\n")+"\n", "lines")
	c.mustAdmin(runTransform, "", "deploy", "ws", "--input", "lines", "--output", "words", "--module", "split")
	c.caughtUp("ws", map[int32]int64{0: 10})

	c.restart()
	// The committed progress is where the restarted deployment starts.
	c.caughtUp("ws", map[int32]int64{0: 10})
	c.mustRun(runProduce, strings.Join(lines[10:], "\n")+"\n", "lines")
	c.caughtUp("ws", map[int32]int64{0: 20})
	out := c.mustRun(runConsume, "", "words", "-B", "-d")
	if got, want := sortedLines(out), words(lines...); !slices.Equal(got, want) {
		t.Errorf("after a restart: %d words, want %d (the committed ones must not come again):\n%q", len(got), len(want), got)
	}
	if out := c.mustAdmin(runTransform, "", "describe", "ws"); !regexp.MustCompile(`(?m)^0 +idle +20 +20 +0 `).MatchString(out) {
		t.Errorf("describe after restart:\n%s", out)
	}
}

func TestCLITransformDeployErrors(t *testing.T) {
	c := newSMCLI(t)
	c.createModule("split", "word-split")
	c.mustRun(runTopic, "", "create", "in", "--partitions", "1")
	c.mustRun(runTopic, "", "create", "out", "--partitions", "1")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "t", "--input", "in", "--output", "out", "--module", "nope"}, `no SmartModule "nope"`},
		{[]string{"deploy", "t", "--input", "missing", "--output", "out", "--module", "split"}, "input topic missing does not exist"},
		{[]string{"deploy", "t", "--input", "in", "--output", "in", "--module", "split"}, "read its own output forever"},
		{[]string{"deploy", "t", "--input", "in", "--output", "out", "--module", "split", "--error-policy", "dead-letter:dlq"}, "dead-letter topic dlq does not exist"},
		{[]string{"pause", "nope"}, "`skiff transform list` shows the deployments"},
	} {
		code, _, stderr := c.runAdmin(runTransform, "", tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// A transforms.yml, vars and a start time.
	yml := writeFile(t, "ws.yml", "transforms:\n  - uses: split\n")
	out := c.mustAdmin(runTransform, "", "deploy", "t", "--input", "in", "--output", "out", "--transforms-file", yml,
		"--var", "A=1", "--from-offset", "@2023-11-14T22:13:20Z", "--error-policy", "skip")
	if out != "deployed transform t: in -> out (split), from @1700000000000, error policy skip\n" {
		t.Errorf("deploy: %q", out)
	}
	out = c.mustAdmin(runTransform, "", "describe", "t")
	if !strings.Contains(out, "Vars:          A=1\n") || !strings.Contains(out, "From offset:   @1700000000000\n") {
		t.Errorf("describe:\n%s", out)
	}
	code, _, stderr := c.runAdmin(runTransform, "", "deploy", "t", "--input", "in", "--output", "out", "--module", "split")
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("deploy twice: exit %d, stderr %q", code, stderr)
	}
}
