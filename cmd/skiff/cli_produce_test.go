package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestCLIProduceKeySeparator(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "kv", "--partitions", "1")
	// Line 3 has no separator and so no key; line 4 splits at the first
	// separator only; line 5 is empty, an empty record; the last line has
	// no newline and a CRLF line is trimmed.
	in := "k1:v1\nk2:v2\nnokey\nk4:a:b\n\nk6:v6\r\nk7:v7"
	if code, stdout, stderr := c.run(runProduce, in, "kv", "--key-separator", ":"); code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("produce: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	out := c.mustRun(runConsume, "", "kv", "-B", "-d", "--format", "{{offset}} [{{key}}] [{{value}}]")
	want := "0 [k1] [v1]\n1 [k2] [v2]\n2 [] [nokey]\n3 [k4] [a:b]\n4 [] []\n5 [k6] [v6]\n6 [k7] [v7]\n"
	if out != want {
		t.Errorf("consumed:\n%s\nwant:\n%s", out, want)
	}
}

func TestCLIProduceOptions(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "opts", "--partitions", "2")
	var in strings.Builder
	for _, acks := range []string{"all", "1", "0"} {
		for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			line := acks + "-" + codec + "\n"
			in.WriteString(line)
			c.mustRun(runProduce, line, "opts", "--acks", acks, "--compression", codec)
		}
	}
	out := c.mustRun(runConsume, "", "opts", "-B", "-d")
	if got, want := sortedLines(out), sortedLines(in.String()); !reflect.DeepEqual(got, want) {
		t.Errorf("consumed %q; want %q", got, want)
	}
}

// TestCLIProduceLongLines produces lines past bufio.Scanner's 64 KiB limit,
// and checks that lines past the topic's max.message.bytes fail with their
// line number.
func TestCLIProduceLongLines(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "big", "--partitions", "1")
	long := strings.Repeat("x", 300<<10)
	c.mustRun(runProduce, "short\n"+long+"\nend\n", "big")
	out := c.mustRun(runConsume, "", "big", "-B", "-d")
	if out != "short\n"+long+"\nend\n" {
		t.Errorf("consumed %d bytes; want the 3 lines back", len(out))
	}

	c.mustRun(runTopic, "", "create", "small", "--partitions", "1", "--config", "max.message.bytes=2000")
	for _, tc := range []struct {
		name, line, want string
	}{
		// Longer than the limit: refused while reading.
		{"long line", strings.Repeat("y", 5000), "line is longer than the topic's max.message.bytes (2000)"},
		// Within the limit, but not once in a record batch: refused by the client.
		{"full record", strings.Repeat("z", 1990), "MESSAGE_TOO_LARGE"},
	} {
		code, _, stderr := c.run(runProduce, "ok\n"+tc.line+"\nafter\n", "small")
		prefix := "skiff produce: line 2: the record is larger than topic small accepts: "
		if code != 1 || !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1, %q...%q", tc.name, code, stderr, prefix, tc.want)
		}
	}
}

func TestCLIProduceFromFile(t *testing.T) {
	c := newTestCLI(t)
	c.mustRun(runTopic, "", "create", "f", "--partitions", "1")
	path := filepath.Join(t.TempDir(), "records.txt")
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := c.run(runProduce, "ignored\n", "f", "--file", path, "--progress")
	if code != 0 || stdout != "" || !regexp.MustCompile(`^produced to f: 2 records \(0\.0 MB\) in [0-9.]+s: [0-9]+ records/s, [0-9.]+ MB/s\n$`).MatchString(stderr) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if out := c.mustRun(runConsume, "", "f", "-B", "-d"); out != "one\ntwo\n" {
		t.Errorf("consumed %q", out)
	}

	code, _, stderr = c.run(runProduce, "", "f", "--file", filepath.Join(t.TempDir(), "missing"))
	if code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}

func TestCLIProduceUnknownTopic(t *testing.T) {
	c := newTestCLI(t)
	code, _, stderr := c.run(runProduce, "a\n", "nope")
	want := "skiff produce: topic nope does not exist: create it with `skiff topic create nope` [UNKNOWN_TOPIC_OR_PARTITION: "
	if code != 1 || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q...", code, stderr, want)
	}
	// The cluster allows auto-creation; asking about a topic must not create it.
	if out := c.mustRun(runTopic, "", "list"); strings.Contains(out, "nope") {
		t.Errorf("produce created the topic:\n%s", out)
	}
}

func TestCLIReadLine(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("a\r\n\n"+strings.Repeat("b", 40)+"\nccc"), 16)
	for _, want := range []struct {
		line string
		err  error
	}{
		{"a", nil}, {"", nil}, {strings.Repeat("b", 40), nil}, {"ccc", io.EOF}, {"", io.EOF},
	} {
		line, err := readLine(r, 64)
		if string(line) != want.line || !errors.Is(err, want.err) {
			t.Errorf("readLine = %q, %v; want %q, %v", line, err, want.line, want.err)
		}
	}
	r = bufio.NewReaderSize(strings.NewReader(strings.Repeat("d", 100)+"\n"), 16)
	if _, err := readLine(r, 64); !errors.Is(err, errLineTooLong) {
		t.Errorf("long line: %v", err)
	}
}

func sortedLines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(l)
	return l
}
