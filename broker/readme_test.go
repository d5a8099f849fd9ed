package broker

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiTable renders the supported-API table of the README from the registry.
func apiTable() string {
	var b strings.Builder
	b.WriteString("| Key | API | Versions |\n|---|---|---|\n")
	for _, k := range supportedKeys() {
		a := apis[k]
		fmt.Fprintf(&b, "| %d | %s | %d–%d", k, kmsg.NameForKey(k), a.min, a.max)
		if a.advertisedMin < a.min {
			fmt.Fprintf(&b, " (advertised from %d)", a.advertisedMin)
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// TestReadmeAPITable keeps the README's table equal to what ApiVersions
// advertises. Run with SKIFF_UPDATE_README=1 to rewrite it.
func TestReadmeAPITable(t *testing.T) {
	const path = "../README.md"
	const begin, end = "<!-- api-table:begin -->\n", "<!-- api-table:end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the api-table markers")
	}
	want := apiTable()
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("SKIFF_UPDATE_README") == "1" {
			os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644)
			return
		}
		t.Fatalf("README.md API table is out of date; run SKIFF_UPDATE_README=1 go test -run TestReadmeAPITable ./broker\nwant:\n%s", want)
	}
}
