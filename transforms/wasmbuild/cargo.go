package wasmbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rustTarget is the Rust target of WebAssembly modules with WASI preview 1,
// what Redpanda's Rust SDK builds for and the engine runs.
const rustTarget = "wasm32-wasip1"

// errNoRust says that the Rust toolchain or its wasm32-wasip1 target is
// missing: a test skips then, unless SKIFF_RUST_STRICT=1.
var errNoRust = errors.New("no Rust toolchain for " + rustTarget)

// Cargo builds the binary bin (a [[bin]] or src/bin/BIN.rs) of the Cargo
// package in dir (relative to the repository root, or absolute) with
// `cargo build --release --locked --target wasm32-wasip1` and returns the
// module's bytes. Each binary is built once per test binary; Cargo's target
// folder lives under CacheDir, so later runs only check that nothing
// changed (a second or less) instead of compiling the crates again.
//
// When cargo or the wasm32-wasip1 target is missing, Cargo skips tb with
// how to install them, or fails it with SKIFF_RUST_STRICT=1. CI is not
// strict here, unlike for the compat clients: `make test` adds the target
// with rustup, which downloads it from Rust's own servers rather than a
// package registry, and a machine that cannot reach them should lose these
// tests (loudly, in the skip message) rather than the whole run. A failing
// build fails tb in every case.
func Cargo(tb testing.TB, dir, bin string) []byte {
	tb.Helper()
	wasm, err := cargo1(dir, bin)
	switch {
	case errors.Is(err, errNoRust) && os.Getenv("SKIFF_RUST_STRICT") != "1":
		tb.Skipf("SKIPPING a test of a Rust SDK module: %v (set SKIFF_RUST_STRICT=1 to fail instead)", err)
	case errors.Is(err, errNoRust):
		tb.Fatalf("%v (missing tools fail here because SKIFF_RUST_STRICT=1 is set)", err)
	case err != nil:
		tb.Fatal(err)
	}
	return wasm
}

func cargo1(dir, bin string) ([]byte, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(Root(), dir)
	}
	v, _ := builds.LoadOrStore("cargo|"+dir+"|"+bin, &build{})
	b := v.(*build)
	b.once.Do(func() {
		cargoPath, err := findCargo(dir)
		if err != nil {
			b.err = err
			return
		}
		// One target folder per package folder: two clones of the
		// repository must not overwrite each other's modules.
		sum := sha256.Sum256([]byte(dir))
		targetDir := filepath.Join(CacheDir(), "cargo-target", hex.EncodeToString(sum[:8]))
		cmd := exec.Command(cargoPath, "build", "--quiet", "--release", "--locked", "--target", rustTarget, "--bin", bin)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CARGO_TARGET_DIR="+targetDir, "PATH="+cargoEnvPath(cargoPath))
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("cargo build --release --target %s --bin %s in %s: %v\n%s", rustTarget, bin, dir, err, msg)
			return
		}
		b.wasm, b.err = os.ReadFile(filepath.Join(targetDir, rustTarget, "release", bin+".wasm"))
	})
	return b.wasm, b.err
}

// findCargo returns the path of cargo, from PATH or rustup's usual place
// (a shell that did not read rustup's profile lacks it in PATH), once it
// has checked that the Rust standard library for wasm32-wasip1 is
// installed for the toolchain that builds in dir. It returns an error
// wrapping errNoRust that says how to install what is missing.
func findCargo(dir string) (string, error) {
	cargoPath, err := exec.LookPath("cargo")
	if err != nil {
		home := os.Getenv("CARGO_HOME")
		if home == "" {
			userHome, _ := os.UserHomeDir()
			home = filepath.Join(userHome, ".cargo")
		}
		if cargoPath, err = exec.LookPath(filepath.Join(home, "bin", "cargo")); err != nil {
			return "", fmt.Errorf("%w: cargo is not on PATH nor in %s; install Rust with rustup (https://rustup.rs), then `rustup target add %s`", errNoRust, filepath.Join(home, "bin"), rustTarget)
		}
	}
	rustcPath, err := exec.LookPath(filepath.Join(filepath.Dir(cargoPath), "rustc"))
	if err != nil {
		rustcPath = "rustc"
	}
	rustc := exec.Command(rustcPath, "--print", "sysroot")
	rustc.Dir = dir
	rustc.Env = append(os.Environ(), "PATH="+cargoEnvPath(cargoPath))
	out, err := rustc.Output()
	if err != nil {
		return "", fmt.Errorf("%w: rustc --print sysroot: %v; install Rust with rustup (https://rustup.rs), then `rustup target add %s`", errNoRust, err, rustTarget)
	}
	sysroot := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(sysroot, "lib", "rustlib", rustTarget, "lib")); err != nil {
		return "", fmt.Errorf("%w: the %s target is not installed in %s; run `rustup target add %s`", errNoRust, rustTarget, sysroot, rustTarget)
	}
	return cargoPath, nil
}

// cargoEnvPath is PATH with cargo's folder first, where rustup puts rustc.
func cargoEnvPath(cargoPath string) string {
	return filepath.Dir(cargoPath) + string(os.PathListSeparator) + os.Getenv("PATH")
}
