// Package protocol holds Skiff's Kafka wire-level pieces: request framing, the
// supported API version table, and record batch (magic v2) validation, rewriting
// and decompression. Requests and responses themselves are encoded and decoded
// with github.com/twmb/franz-go/pkg/kmsg; this package never hand-encodes a
// message body.
package protocol
