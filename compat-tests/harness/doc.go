// Package harness runs a Skiff broker as a child process for the compat tests,
// which drive it with real Kafka clients (Go libraries here; Java, kafkajs,
// Python and kcat through their own tools).
//
// A test calls [Start], talks Kafka to [Server.Addr], and may stop, restart or
// SIGKILL the broker in between to check what survives. [Start] builds the
// skiff binary once per test process from the repository root (the parent of
// compat-tests), or uses $SKIFF_BIN when that is set.
//
// # Targets
//
// SKIFF_COMPAT_TARGET selects what [Start] runs:
//   - "skiff" (the default): `skiff server` from ../cmd/skiff.
//   - "kfake": franz-go's in-memory Kafka (see ../cmd/kfake), to develop
//     tests before a Skiff feature exists. It keeps its state in the data
//     dir, so [Server.Persistent] is true, but it has no metrics endpoint:
//     [Server.MetricsAddr] is "" and [WithArgs] flags are ignored.
//
// # Notes
//
//   - Ports are picked by binding 127.0.0.1:0 and closing; another process
//     can take one in between. Start fails with the server's log then.
//   - The server's stdout and stderr go to one file that lives as long as the
//     test; [Server.LogTail] reads it and a failed test logs its tail.
//   - Tools a test needs (mvn, node, python3, kcat) are checked with
//     [Require]: missing means skip on a laptop and fail in CI
//     (CI set, or SKIFF_COMPAT_STRICT=1).
package harness
