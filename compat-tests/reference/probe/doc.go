// Package probe sends single Kafka requests, built by hand with kmsg, and
// reduces each answer to a short string that can be compared between
// brokers: "UNKNOWN_TOPIC_OR_PARTITION", "NONE at offset 3". The differential
// tests (compat-tests/differential_test.go) send the same probes to Skiff
// and to Apache Kafka and compare the strings.
//
// # Notes
//
//   - Error codes are named as Kafka names them (kerr), never by message: the
//     messages differ between brokers and do not matter to clients.
//   - A Broker's clients are capped to the request versions both brokers
//     support (CommonVersions), so both see the same request bytes.
package probe
