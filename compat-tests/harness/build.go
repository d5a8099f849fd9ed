package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// compatModule is the module path of compat-tests; the repository root is the
// parent of the directory that holds its go.mod.
const compatModule = "github.com/skiffstream/skiff/compat-tests"

// builds caches one build per target for the life of the test process, so
// every Start after the first reuses the binary (or the build error).
var builds struct {
	sync.Mutex
	done map[string]buildResult
}

type buildResult struct {
	path string
	err  error
}

// binary returns the path of the executable for target, building it on first
// use. For skiff, $SKIFF_BIN wins over building.
func binary(target string) (string, error) {
	if target == targetSkiff {
		if bin := os.Getenv("SKIFF_BIN"); bin != "" {
			return bin, nil
		}
	}
	builds.Lock()
	defer builds.Unlock()
	if r, ok := builds.done[target]; ok {
		return r.path, r.err
	}
	path, err := build(target)
	if builds.done == nil {
		builds.done = make(map[string]buildResult)
	}
	builds.done[target] = buildResult{path, err}
	return path, err
}

// build runs `go build` for target into a fixed directory under the system
// temp dir. A fixed output path lets the go command skip the link when the
// binary is already up to date, which saves most of a build on a busy
// machine. The go command links in its work dir (also under the temp dir)
// and renames into place, so test processes building at the same time
// (go test ./... runs packages in parallel) never run a half-written file,
// and a running server keeps the inode it was started from.
func build(target string) (string, error) {
	compatDir, err := compatRoot()
	if err != nil {
		return "", err
	}
	dir, pkg := filepath.Dir(compatDir), "./cmd/skiff"
	if target == targetKfake {
		dir, pkg = compatDir, "./cmd/kfake"
	}
	binDir := filepath.Join(os.TempDir(), fmt.Sprintf("skiff-compat-%d", os.Getuid()))
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", target, err)
	}
	path := filepath.Join(binDir, target)
	cmd := exec.Command("go", "build", "-o", path, pkg)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s (go build %s in %s): %w\n%s", target, pkg, dir, err, out.Bytes())
	}
	return path, nil
}

// compatRoot finds the compat-tests module directory by walking up from the
// working directory, which `go test` sets to the package being tested.
func compatRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find compat-tests: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == compatModule {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod of %s above %s: run the tests from inside compat-tests, or set SKIFF_BIN", compatModule, wd)
		}
	}
}

// modulePath returns the path on the module line of a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
