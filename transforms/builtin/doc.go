// Package builtin holds the SmartModules shipped inside Skiff's binary,
// written with transforms/sdk:
//
//   - jolt (map): JSON to JSON with the shift, default and remove
//     operations of Fluvio's jolt (see transforms/jolt); it also answers to
//     Fluvio's name, infinyon/jolt@VERSION.
//   - regex-filter (filter): keeps records whose value or key matches a
//     regular expression.
//   - json-filter (filter): keeps records whose JSON value has a field that
//     equals a text, matches an expression, or exists.
//
// Each module's record function and parameters are in package funcs. A
// module checks its parameters when it starts and fails the deployment
// with a message that says what to fix when one is wrong or unknown.
//
// The broker runs the built-ins natively (NewNative, ChainNative): the
// same Go code as their WebAssembly, without the sandbox, which they do not
// need and which makes them 15 to 20 times slower. A module stored under a
// built-in's name shadows it and runs as WebAssembly. The tests run every
// case both ways and compare outputs and errors.
//
// The modules are built with `go generate ./transforms/builtin`
// (GOOS=wasip1 GOARCH=wasm, -trimpath, stripped) into one zstd bundle,
// wasm/builtin.wasm.zst, committed, embedded and decompressed on first use.
// wasm/SOURCES records the hash of the sources they were built from; the
// tests fail when the sources changed and the modules were not generated
// again, and rebuild the modules to compare them byte for byte when the Go
// toolchain is the one that generated them.
package builtin
