//go:build !race

package jolt

const raceEnabled = false
