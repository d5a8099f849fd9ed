// Package wasmbuild builds the built-in modules into WebAssembly and
// records what they were built from. go generate runs it (internal/gen)
// and the tests of package builtin use it to check that the committed
// modules are current.
package wasmbuild

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Modules are the built-in modules: each is the main package in the
// directory of its name under transforms/builtin.
var Modules = []string{"jolt", "json-filter", "regex-filter"}

// Flags are the go build flags: -trimpath and no VCS stamp so that a
// build does not depend on where the checkout is or on its commit, and a
// symbol-less binary with no build ID to keep it small and reproducible.
var Flags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// SumsFile is the file, under wasm/, that records what the committed
// modules were built from.
const SumsFile = "SOURCES"

func env() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

// Build builds the module name in dir (transforms/builtin) and returns its
// WebAssembly bytes.
func Build(dir, name string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "skiff-builtin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, name+".wasm")
	args := append(append([]string{"build"}, Flags...), "-o", out, "./"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("GOOS=wasip1 GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return os.ReadFile(out)
}

// BundleFile is the file, under wasm/, that holds the modules.
const BundleFile = "builtin.wasm.zst"

// BundleHeader starts a bundle; then comes a line "NAME SIZE" per module,
// an empty line, and the modules' bytes one after the other.
const BundleHeader = "skiff builtin modules v1\n"

// Bundle puts the modules, in the order of names, into one zstd stream.
// Each module is mostly the same Go runtime: with a window that spans
// them, zstd stores it about once, where a file per module (gzip, with its
// 32 KiB window) stores it each time: 1.2 MB instead of 2.5 MB for the
// three. Skiff's binary has the zstd decoder anyway (Kafka's zstd batches).
// The encoder runs on one goroutine, so the same modules give the same
// bytes.
func Bundle(names []string, modules map[string][]byte) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(BundleHeader)
	for _, name := range names {
		fmt.Fprintf(&b, "%s %d\n", name, len(modules[name]))
	}
	b.WriteString("\n")
	for _, name := range names {
		b.Write(modules[name])
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(8<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(b.Bytes(), nil), nil
}

// Sums is what SumsFile records.
type Sums struct {
	GoVersion string            // the toolchain that built the modules
	Sources   string            // SourceHash when they were built
	Wasm      map[string]string // module name → sha256 of its .wasm
}

// SourceHash hashes what the modules are built from: the Go files of every
// package of Skiff's module that they import (for GOOS=wasip1
// GOARCH=wasm), and the path and version of packages of other modules.
// The Go toolchain is not part of it (see Sums.GoVersion).
func SourceHash(dir string) (string, error) {
	args := []string{"list", "-deps", "-f",
		`{{if not .Standard}}{{.ImportPath}}|{{if .Module}}{{.Module.Path}}|{{.Module.Version}}|{{.Module.Main}}{{end}}|{{.Dir}}|{{join .GoFiles ","}},{{join .EmbedFiles ","}}{{end}}`}
	for _, m := range Modules {
		args = append(args, "./"+m)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(lines)
	h := sha256.New()
	for _, line := range lines {
		f := strings.Split(line, "|")
		if len(f) != 6 {
			return "", fmt.Errorf("go list printed %q", line)
		}
		importPath, modPath, modVersion, mainModule, pkgDir, files := f[0], f[1], f[2], f[3], f[4], f[5]
		if mainModule != "true" {
			fmt.Fprintf(h, "%s %s@%s\n", importPath, modPath, modVersion)
			continue
		}
		names := strings.FieldsFunc(files, func(r rune) bool { return r == ',' })
		slices.Sort(names)
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(pkgDir, name))
			if err != nil {
				return "", err
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(h, "%s/%s %x\n", importPath, name, sum)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// GoVersion returns the version of the go command, as `go env GOVERSION`.
func GoVersion() (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// WasmSum is the sha256 of a module, as Sums records it.
func WasmSum(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Format writes sums as SumsFile holds them.
func (s Sums) Format() []byte {
	var b bytes.Buffer
	b.WriteString("# What the modules in this directory were built from. Written by\n")
	b.WriteString("# `go generate ./transforms/builtin`; do not edit.\n")
	fmt.Fprintf(&b, "go %s\n", s.GoVersion)
	fmt.Fprintf(&b, "sources %s\n", s.Sources)
	names := make([]string, 0, len(s.Wasm))
	for name := range s.Wasm {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&b, "wasm %s %s\n", name, s.Wasm[name])
	}
	return b.Bytes()
}

// ParseSums reads what Format wrote.
func ParseSums(data []byte) (Sums, error) {
	s := Sums{Wasm: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "go":
			s.GoVersion = f[1]
		case len(f) == 2 && f[0] == "sources":
			s.Sources = f[1]
		case len(f) == 3 && f[0] == "wasm":
			s.Wasm[f[1]] = f[2]
		default:
			return s, fmt.Errorf("%s: bad line %q", SumsFile, line)
		}
	}
	return s, sc.Err()
}
