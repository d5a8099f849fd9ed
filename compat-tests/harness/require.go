package harness

import (
	"os"
	"os/exec"
	"testing"
)

// installHints says how to get each tool the compat tests use on the
// project's Debian machines.
var installHints = map[string]string{
	"mvn":     "apt-get install -y maven default-jdk-headless",
	"java":    "apt-get install -y default-jdk-headless",
	"node":    "apt-get install -y nodejs npm",
	"npm":     "apt-get install -y nodejs npm",
	"python3": "apt-get install -y python3 python3-venv",
	"kcat":    "apt-get install -y kcat",
}

// Require skips the test when tool is not on PATH, or fails it when missing
// tools must not go unnoticed: in CI (CI set) or with SKIFF_COMPAT_STRICT=1.
func Require(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err == nil {
		return
	}
	hint, ok := installHints[tool]
	if !ok {
		hint = "install " + tool + " and put it on PATH"
	}
	if strict() {
		t.Fatalf("compat test needs %s, which is not on PATH: %s (missing tools fail here because CI or SKIFF_COMPAT_STRICT=1 is set)", tool, hint)
	}
	t.Skipf("skipping: %s is not on PATH (%s; set SKIFF_COMPAT_STRICT=1 to fail instead)", tool, hint)
}

func strict() bool {
	return os.Getenv("CI") != "" || os.Getenv("SKIFF_COMPAT_STRICT") == "1"
}
