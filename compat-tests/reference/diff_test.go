package reference

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReferenceMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, key string
		want         bool
	}{
		{"A: b", "A: b", true},
		{"A: b", "A: bc", false},
		{"A: config remote.*: *", "A: config remote.storage.enable: value", true},
		{"A: config remote.*: *", "A: config retention.ms: value", false},
		{"A: config *: synonyms", "A: config delete.retention.ms: synonyms", true},
		{"A: config *: synonyms", "A: config delete.retention.ms: value", false},
		{"*", "anything", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
	} {
		if got := match(c.pattern, c.key); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.key, got, c.want)
		}
	}
}

func TestReferenceLoadAccepted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ACCEPTED.md")
	os.WriteFile(path, []byte("# Title with no keys\nintro\n## `S: a`, `S: b*`\nReason one\ncontinued.\n### `S: c`\nReason two.\n"), 0o644)
	a, err := LoadAccepted(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"S: a": "Reason one continued.", "S: bx": "Reason one continued.", "S: c": "Reason two."} {
		if got, ok := a.Reason(key); !ok || got != want {
			t.Errorf("Reason(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := a.Reason("S: d"); ok {
		t.Error(`Reason("S: d") found an entry`)
	}
	if got := a.exact("S"); len(got) != 2 {
		t.Errorf("exact(S) = %q, want the two keys without *", got)
	}
	os.WriteFile(path, []byte("## `S: a`\n\n## `S: b`\nreason\n"), 0o644)
	if _, err := LoadAccepted(path); err == nil {
		t.Error("an entry without a reason loaded without error")
	}
}
