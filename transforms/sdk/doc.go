// Package sdk writes Skiff SmartModules in Go: programs built with
//
//	GOOS=wasip1 GOARCH=wasm go build -o module.wasm .
//
// that the broker runs on records where they land (at produce time, topic
// to topic, or as read-time views). A module is a main package whose main
// calls one of the kinds, which never returns:
//
//	func main() {
//		re := regexp.MustCompile(sdk.Params()["pattern"])
//		sdk.Filter(func(r sdk.Record) (bool, error) {
//			return re.Match(r.Value), nil
//		})
//	}
//
// The kinds are Fluvio's: Filter (keep or drop), Map (one in, one out),
// FilterMap (zero or one out), ArrayMap (zero or more out) and Aggregate (an
// accumulator carried from record to record, each output being the
// accumulator after its record). Process is the general form they are built
// on: any number of records to any output topic. Code in main before the
// kind is Fluvio's init step: it reads Params and may fail the deployment by
// exiting.
//
// # ABI
//
// The package speaks the redpanda_transform ABI that Skiff's engine hosts
// (the one Redpanda's data transforms use; see transforms/engine), and
// implements its guest side itself rather than depending on Redpanda's SDK.
// A module built with this package also runs on Redpanda.
//
// # Notes
//
//   - Records handed to a function are valid only during the call.
//   - Outputs keep the timestamp of their input record; the key and headers
//     are what the function returns, so return the input record (modified)
//     to keep them.
//   - A function that returns an error ends the module: the error is
//     printed to stderr, the module exits with code 1 and the engine reports
//     the record it failed on, to be handled by the deployment's error
//     policy.
//   - Run with SKIFF_SDK_DESCRIBE=1, a kind only prints its name as one line,
//     {"skiff_sdk_kind":"filter"} (or map, filter-map, array-map, aggregate,
//     process), and exits 0, so a host can learn a module's kind without a
//     batch (see DescribeEnv).
//   - The package builds on other platforms too (so that vet and tests of
//     helpers run), but a module only runs as WebAssembly.
package sdk
