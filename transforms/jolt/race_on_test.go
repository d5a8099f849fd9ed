//go:build race

package jolt

// raceEnabled: the race detector makes code allocate where it otherwise
// does not, so allocation counts are not checked under it.
const raceEnabled = true
