package main

import "github.com/skiffstream/skiff/bench/internal/cpustat"

// cpuUse is where the machine's CPU time went during one phase: whether the
// broker, the load generator or somebody else's work (other processes on a
// shared machine) had the cores.
type cpuUse = cpustat.Use

// markCPU reads the CPU counters now; markCPU(pid).Since(start) is the use
// between two readings.
func markCPU(brokerPID int) cpustat.Mark { return cpustat.Now(brokerPID) }
