// Package transforms holds Skiff's SmartModules: WebAssembly programs that
// filter, reshape, expand and aggregate records inside the broker (see
// ../shared/DESIGN.md decision 7 and ../shared/SMARTMODULES.md).
//
//   - engine: the wazero runtime hosting the redpanda_transform ABI, so that
//     modules built with Redpanda's transform SDKs run unchanged.
//   - sdk: Skiff's Go SDK for modules, with Fluvio's kinds (filter, map,
//     filter-map, array-map, aggregate) and `with:` parameters.
//   - examples: one module per kind, built by this package's tests.
//
// The tests of this package build the example modules, a module built with
// Redpanda's Go SDK (testdata/redpanda-identity, a module of its own) and
// hostile modules with GOOS=wasip1 GOARCH=wasm, and modules built with
// Redpanda's Rust SDK (testdata/redpanda-rust, a Cargo package) with cargo
// for wasm32-wasip1, and run them end to end through the engine.
package transforms
