// Package examples holds example SmartModules written with transforms/sdk,
// one main package per directory, one per kind:
//
//   - regex-filter (filter): keeps records whose value matches the `regex`
//     parameter.
//   - json-projection (map): keeps only the top-level JSON fields named in
//     the `fields` parameter.
//   - word-split (array-map): one record per word of the value.
//   - running-count (aggregate): the value of each output is the number of
//     records seen so far, starting after the `start` parameter.
//
// Build one with GOOS=wasip1 GOARCH=wasm go build. The tests in transforms/
// build and run each of them through the engine; the binaries are never
// committed.
package examples
