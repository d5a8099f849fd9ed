//go:build invariants

package raftlog

// invariants turns on costly checks of what the partition FSM and Read
// produce (invariants.go). `make test` runs raftlog's tests with the tag.
const invariants = true
