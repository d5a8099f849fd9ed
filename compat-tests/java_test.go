package compat_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiffstream/skiff/compat-tests/harness"
)

// This file holds TestCompatJava and the runner that the four tests of client programs
// outside Go share (java/, node/, python/, kcat/; see also node_test.go, python_test.go,
// kcat_test.go). Each program takes BOOTSTRAP TOPIC produce|verify, checks the data set
// itself (java/src/main/java/dev/skiff/compat/Dataset.java describes it) and bounds each
// phase by 60s; verify prints "RESULT records=N partitions=P:N,... digest=HEX".
// compat-tests/install.sh builds what the programs need.

// externalPhaseTimeout is how long a client program may run before it is killed; the
// programs give up on their own after 60s.
const externalPhaseTimeout = 90 * time.Second

// TestCompatJava runs the official Java client (kafka-clients 4.x, see java/pom.xml): the
// idempotent producer in every codec (none, gzip, snappy, lz4, zstd) and a plain one,
// then an assign-mode consumer from the beginning, before and after a broker restart.
func TestCompatJava(t *testing.T) {
	harness.Require(t, "java")
	jar := needBuilt(t, filepath.Join("java", "target", "skiff-compat-java.jar"))
	runExternalClient(t, "java", []string{"java", "-jar", jar})
}

// runExternalClient starts a broker, creates a 3-partition topic, runs the program's
// produce and verify phases, restarts the broker and verifies again; both verify runs must
// report the same digest (same records at the same offsets).
func runExternalClient(t *testing.T, name string, argv []string) {
	t.Helper()
	s, topic := startExternal(t, name)
	runPhase(t, name, argv, s.Addr(), topic, "produce")
	verifyAcrossRestart(t, s, name, argv, topic)
}

// startExternal starts a broker with the 3-partition topic compat-NAME.
func startExternal(t *testing.T, name string) (*harness.Server, string) {
	t.Helper()
	s := harness.Start(t)
	topic := "compat-" + name
	harness.CreateTopic(t, s.Addr(), topic, 3)
	return s, topic
}

// verifyAcrossRestart runs verify, restarts the broker, runs verify again and compares.
func verifyAcrossRestart(t *testing.T, s *harness.Server, name string, argv []string, topic string) {
	t.Helper()
	before := runPhase(t, name, argv, s.Addr(), topic, "verify")
	if !s.Persistent() {
		t.Logf("the %s target does not keep data across restarts: skipping the check after restart", s.Target())
		return
	}
	s.Restart(t)
	after := runPhase(t, name, argv, s.Addr(), topic, "verify")
	if after != before {
		t.Fatalf("%s: verify after restart differs from before it\nbefore: %s\nafter:  %s", name, before, after)
	}
}

var resultLine = regexp.MustCompile(`(?m)^RESULT records=\d+ partitions=\S* digest=[0-9a-f]{64}$`)

// runPhase runs one phase of a client program and fails the test, with everything the
// program printed, when it exits non-zero. For verify it returns the RESULT line.
func runPhase(t *testing.T, name string, argv []string, addr, topic, phase string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), externalPhaseTimeout)
	defer cancel()
	args := append(append([]string{}, argv[1:]...), addr, topic, phase)
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil {
		t.Fatalf("%s %s: killed after %v\ncommand: %s\n%s", name, phase, externalPhaseTimeout, cmd, out.String())
	}
	if err != nil {
		t.Fatalf("%s %s failed (%v) after %v\ncommand: %s\n%s", name, phase, err, took, cmd, out.String())
	}
	t.Logf("%s %s (%v):\n%s", name, phase, took, strings.TrimRight(out.String(), "\n"))
	if phase != "verify" {
		return ""
	}
	result := resultLine.FindString(out.String())
	if result == "" {
		t.Fatalf("%s verify exited 0 but printed no RESULT line\n%s", name, out.String())
	}
	return result
}

// needBuilt returns the absolute path of a file that compat-tests/install.sh builds. When
// it is missing the test is skipped, or fails where missing pieces must not go unnoticed
// (CI set, or SKIFF_COMPAT_STRICT=1, as in harness.Require).
func needBuilt(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err == nil {
		return abs
	}
	msg := abs + " is missing: run compat-tests/install.sh (as root on Debian) to build it"
	if os.Getenv("CI") != "" || os.Getenv("SKIFF_COMPAT_STRICT") == "1" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg + "; set SKIFF_COMPAT_STRICT=1 to fail instead")
	return ""
}
