// Package reference runs Apache Kafka beside Skiff, so that tests and
// benchmarks can compare the two in one run.
//
// The broker is Apache Kafka 4.x in KRaft mode (no ZooKeeper), from Maven
// Central only: kafka.sh fetches org.apache.kafka:kafka_2.13 and its runtime
// dependencies with Maven into lib/ (pom.xml), and kafka-tools into tools-lib/
// (tools/pom.xml). Both directories are a cache, ignored by git; the first
// run fills them, which takes a minute or more. kafka.sh formats a data
// directory, starts one combined broker+controller (or three, with Nodes(3))
// on free 127.0.0.1 ports, and waits until it serves:
//
//	compat-tests/reference/kafka.sh up      # prints the bootstrap address last
//	compat-tests/reference/kafka.sh down
//
// Go tests call [Start], which runs the same script in a run directory of
// their own and stops the broker when the test ends:
//
//	k := reference.Start(t)
//	cl, _ := kgo.NewClient(kgo.SeedBrokers(k.Addr()))
//
// Differential tests record what each broker answered as [Observations] and
// hand both sets to [Compare], which fails on every difference that
// compat-tests/ACCEPTED_DIFFERENCES.md ([LoadAccepted]) does not explain. The
// requests themselves are in the probe subpackage.
//
// Kafka's command-line tools come from the same Maven artifacts: [Tool] runs
// one (kafka-topics, kafka-consumer-groups, kafka-console-producer and
// -consumer, kafka-producer-perf-test, kafka-consumer-perf-test) against any
// broker, and so does `kafka.sh tool NAME ARG...`.
//
// # Notes
//
//   - Without Java or Maven, Start skips the test with a message that says
//     what to install; with CI or SKIFF_COMPAT_STRICT=1 set it fails instead.
//   - A test process that dies leaves no broker behind: kafka.sh runs a
//     watchdog that stops the broker once the test process is gone.
//   - Kafka needs 10-20 s to start on a 2-core machine: start it once per
//     test binary and share it (see [Launch]).
package reference
