// Package cpustat tells where a machine's CPU time went while a benchmark
// ran: to the broker under test, to the load generator, or to anybody else.
// On a shared machine the last is what says whether a run was disturbed.
// It reads Linux's /proc; elsewhere every figure is 0.
package cpustat

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Use is where the machine's CPU time went during one phase, in seconds of
// CPU (2.0 over one second of wall time is two busy cores).
type Use struct {
	BrokerSeconds  float64 `json:"broker_cpu_s,omitempty"`
	ClientSeconds  float64 `json:"client_cpu_s"`
	MachineSeconds float64 `json:"machine_busy_cpu_s"`
	OtherSeconds   float64 `json:"other_cpu_s"`
}

// Mark is a reading of the CPU counters at one instant.
type Mark struct{ broker, client, machine float64 }

// ClockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// architecture Go supports.
const ClockTicks = 100

// Now reads the counters: this process's own CPU time (the client), the
// machine's busy time, and that of process brokerPID if it is not 0.
func Now(brokerPID int) Mark {
	var m Mark
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	m.machine = machineBusySeconds()
	if brokerPID > 0 {
		m.broker = ProcessSeconds(brokerPID)
	}
	return m
}

// Since is the use between start and m. Others' time is what the machine
// was busy with beyond the broker and the client.
func (m Mark) Since(start Mark) Use {
	u := Use{
		BrokerSeconds:  round2(m.broker - start.broker),
		ClientSeconds:  round2(m.client - start.client),
		MachineSeconds: round2(m.machine - start.machine),
	}
	u.OtherSeconds = round2(max(0, u.MachineSeconds-u.BrokerSeconds-u.ClientSeconds))
	return u
}

// WithClient replaces the client's time (for a client that ran as a child
// process, whose time is its rusage, not this process's) and recomputes
// others' time.
func (u Use) WithClient(seconds float64) Use {
	u.ClientSeconds = round2(seconds)
	u.OtherSeconds = round2(max(0, u.MachineSeconds-u.BrokerSeconds-u.ClientSeconds))
	return u
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// machineBusySeconds sums the non-idle CPU time of all cores from /proc/stat
// (user, nice, system, irq, softirq, steal); 0 where /proc is missing.
func machineBusySeconds() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(fields[i], 64)
		ticks += v
	}
	return ticks / ClockTicks
}

// ProcessSeconds is the user plus system CPU time of process pid so far; 0
// if it cannot be read.
func ProcessSeconds(pid int) float64 {
	fields, err := ProcStat(pid)
	if err != nil || len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / ClockTicks
}

// ProcStat returns the fields of /proc/PID/stat from field 3 (state) on:
// index i is field i+3 of proc(5). The command name (field 2) may hold
// spaces and parentheses, so the fields start after its last ')'.
func ProcStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), nil
}
