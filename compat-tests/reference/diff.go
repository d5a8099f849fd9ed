package reference

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// Observations are what one scenario saw on one broker: a value for each
// named thing it looked at ("produce to unknown topic" -> "UNKNOWN_TOPIC_OR_PARTITION").
// Values are compared as strings, so a scenario decides what counts as equal
// by what it records (an error code, not its message).
type Observations map[string]string

// Set records key = fmt.Sprint(value).
func (o Observations) Set(key string, value any) { o[key] = fmt.Sprint(value) }

// Accepted is the list of differences between Skiff and Kafka that do not
// fail a test, each with its reason: compat-tests/ACCEPTED_DIFFERENCES.md.
//
// # Format
//
// Every Markdown heading (## or ###) that holds text in backticks starts an
// entry; each backticked text in it is a key, "Scenario: observation", and a
// "*" in a key matches any text ("DescribeConfigs: config remote.*: *"). The
// lines up to the next heading are the reason, which must not be empty.
type Accepted struct {
	path    string
	entries []acceptedEntry
}

type acceptedEntry struct {
	key    string
	reason string
	line   int
}

// LoadAccepted reads and checks the accepted-differences file.
func LoadAccepted(path string) (*Accepted, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("accepted differences: %w", err)
	}
	defer f.Close()
	a := &Accepted{path: path}
	var open []int // indexes of the entries of the current heading
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			open = nil
			for _, key := range backticked(line) {
				open = append(open, len(a.entries))
				a.entries = append(a.entries, acceptedEntry{key: key, line: n})
			}
			continue
		}
		if text := strings.TrimSpace(line); text != "" {
			for _, i := range open {
				a.entries[i].reason = strings.TrimSpace(a.entries[i].reason + " " + text)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("accepted differences %s: %w", path, err)
	}
	for _, e := range a.entries {
		if e.reason == "" {
			return nil, fmt.Errorf("accepted differences %s:%d: `%s` has no reason: say why Skiff differs from Kafka there", path, e.line, e.key)
		}
	}
	return a, nil
}

// backticked returns the texts between pairs of backticks in line.
func backticked(line string) []string {
	parts := strings.Split(line, "`")
	var keys []string
	for i := 1; i+1 < len(parts); i += 2 {
		keys = append(keys, parts[i])
	}
	return keys
}

// Reason returns why key may differ, and whether it may.
func (a *Accepted) Reason(key string) (string, bool) {
	for _, e := range a.entries {
		if match(e.key, key) {
			return e.reason, true
		}
	}
	return "", false
}

// match reports whether key matches pattern, where "*" matches any text.
func match(pattern, key string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == key
	}
	if !strings.HasPrefix(key, parts[0]) {
		return false
	}
	key = key[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(key, part)
		if i < 0 {
			return false
		}
		key = key[i+len(part):]
	}
	return strings.HasSuffix(key, parts[len(parts)-1])
}

// knownBug returns the description of the bug whose pattern matches key.
func knownBug(knownBugs map[string]string, key string) (string, bool) {
	for pattern, bug := range knownBugs {
		if match(pattern, key) {
			return bug, true
		}
	}
	return "", false
}

// exact returns the keys of entries without "*" for scenario.
func (a *Accepted) exact(scenario string) []string {
	var keys []string
	for _, e := range a.entries {
		if !strings.Contains(e.key, "*") && strings.HasPrefix(e.key, scenario+": ") {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// Compare fails t for every observation of scenario where Skiff differs from
// Kafka, unless the difference is accepted or is a known Skiff bug (knownBugs
// maps a key pattern, with "*" as in Accepted, to the bug's description). A known bug does not fail the test:
// when nothing else failed, the test is skipped with the bugs' names, so that
// it turns green only once they are fixed. An exact accepted key of the
// scenario that matched no difference fails the test too: the file must say
// only what is true.
func Compare(t testing.TB, scenario string, kafka, skiff Observations, accepted *Accepted, knownBugs map[string]string) {
	t.Helper()
	keys := make(map[string]bool)
	for k := range kafka {
		keys[k] = true
	}
	for k := range skiff {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	used := make(map[string]bool)
	bugs := make(map[string][]string) // by bug description
	var bugOrder []string
	same := 0
	for _, k := range sorted {
		kv, inKafka := kafka[k]
		sv, inSkiff := skiff[k]
		if inKafka && inSkiff && kv == sv {
			same++
			if testing.Verbose() {
				t.Logf("same: %s: %s: %s", scenario, k, kv)
			}
			continue
		}
		if !inKafka {
			kv = "(not observed)"
		}
		if !inSkiff {
			sv = "(not observed)"
		}
		key := scenario + ": " + k
		if reason, ok := accepted.Reason(key); ok {
			used[key] = true
			t.Logf("accepted difference %s: Kafka %s, Skiff %s (%s)", key, kv, sv, reason)
			continue
		}
		if bug, ok := knownBug(knownBugs, key); ok {
			if len(bugs[bug]) == 0 {
				bugOrder = append(bugOrder, bug)
			}
			bugs[bug] = append(bugs[bug], fmt.Sprintf("%s: Kafka %s, Skiff %s", key, kv, sv))
			continue
		}
		t.Errorf("%s: Kafka %s, Skiff %s\n\tfix Skiff, or list `%s` with its reason in %s", key, kv, sv, key, accepted.path)
	}
	for _, k := range accepted.exact(scenario) {
		if !used[k] {
			t.Errorf("%s lists `%s`, but Skiff and Kafka agree there (or it was not observed): remove the entry", accepted.path, k)
		}
	}
	t.Logf("%s: %d observations the same on both brokers", scenario, same)
	if len(bugs) == 0 {
		return
	}
	var msg strings.Builder
	for _, bug := range bugOrder {
		diffs := bugs[bug]
		fmt.Fprintf(&msg, "\n\tknown Skiff bug: %s\n\t\t%s", bug, diffs[0])
		if len(diffs) > 1 {
			fmt.Fprintf(&msg, " (and %d more)", len(diffs)-1)
		}
		for _, d := range diffs[1:] {
			t.Logf("known Skiff bug, also: %s", d)
		}
	}
	if t.Failed() {
		t.Logf("differences from known Skiff bugs:%s", msg.String())
		return
	}
	t.Skipf("skipping: Skiff differs from Kafka here only through %d known bug(s), named in knownBugs:%s", len(bugOrder), msg.String())
}
