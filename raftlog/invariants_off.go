//go:build !invariants

package raftlog

const invariants = false
