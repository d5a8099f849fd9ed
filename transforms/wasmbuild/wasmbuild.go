// Package wasmbuild builds Go packages into WebAssembly transform modules
// (GOOS=wasip1 GOARCH=wasm), and Rust binaries with cargo (wasm32-wasip1,
// see Cargo), for the tests of every package that runs them: the engine,
// chains, the broker and the command line. Each package is built once per
// test binary; the go command's build cache and Cargo's target folder under
// CacheDir make later runs fast.
package wasmbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

type build struct {
	once sync.Once
	wasm []byte
	err  error
}

var builds sync.Map // dir + "|" + pkg → *build

// Root is the repository's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Build builds the main package pkg (such as "./transforms/examples/word-split")
// of the Go module in dir (relative to the repository root, or absolute) and
// returns the module's bytes. It fails tb if the build fails.
func Build(tb testing.TB, dir, pkg string) []byte {
	tb.Helper()
	wasm, err := build1(dir, pkg)
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

// Example builds transforms/examples/name.
func Example(tb testing.TB, name string) []byte {
	tb.Helper()
	return Build(tb, ".", "./transforms/examples/"+name)
}

func build1(dir, pkg string) ([]byte, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(Root(), dir)
	}
	v, _ := builds.LoadOrStore(dir+"|"+pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		out, err := os.CreateTemp("", "skiff-module-*.wasm")
		if err != nil {
			b.err = err
			return
		}
		out.Close()
		defer os.Remove(out.Name())
		cmd := exec.Command("go", "build", "-o", out.Name(), pkg)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build %s in %s: %v\n%s", pkg, dir, err, msg)
			return
		}
		b.wasm, b.err = os.ReadFile(out.Name())
	})
	return b.wasm, b.err
}

// CacheDir is a compilation cache for the engines of every test binary and
// run on this machine (wazero's cache and the engine's instrumented modules,
// both keyed by content and written atomically): under the race detector
// compiling a Go module takes tens of seconds, so compiling each module once
// per machine, not once per test binary, matters. `make test` runs the
// packages without -race first, which fills it. Cargo's target folders are
// kept in it too, under cargo-target/.
func CacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "skiff", "test-wasm-cache")
}
