// Command gen builds the built-in modules into wasm/builtin.wasm.zst and
// records what they were built from in wasm/SOURCES. Run it with
// `go generate ./transforms/builtin` after changing a module, the SDK or
// the jolt package, and commit the results.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffstream/skiff/transforms/builtin/internal/wasmbuild"
)

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "go generate ./transforms/builtin:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	sums := wasmbuild.Sums{Wasm: map[string]string{}}
	var err error
	if sums.GoVersion, err = wasmbuild.GoVersion(); err != nil {
		return err
	}
	if sums.Sources, err = wasmbuild.SourceHash(dir); err != nil {
		return err
	}
	modules := map[string][]byte{}
	for _, name := range wasmbuild.Modules {
		wasm, err := wasmbuild.Build(dir, name)
		if err != nil {
			return err
		}
		modules[name] = wasm
		sums.Wasm[name] = wasmbuild.WasmSum(wasm)
		fmt.Printf("%s: %d bytes\n", name, len(wasm))
	}
	bundle, err := wasmbuild.Bundle(wasmbuild.Modules, modules)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes\n", wasmbuild.BundleFile, len(bundle))
	if err := writeIfChanged(filepath.Join(dir, "wasm", wasmbuild.BundleFile), bundle); err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(dir, "wasm", wasmbuild.SumsFile), sums.Format())
}

// writeIfChanged leaves a file that already holds data alone, so that a
// generate that changes nothing changes no file time.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
