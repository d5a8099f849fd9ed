// Package broker serves the Kafka protocol from Skiff's Raft partitions.
//
// One file per API key (00_produce.go, 01_fetch.go, ...), each opening with
// the versions it serves and registering itself with regKey; ApiVersions is
// built from that registry, so the advertised versions never drift from the
// handlers. A Kafka error travels inside the response (kerr codes); a Go
// error returned by a handler closes the connection.
package broker
