package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is where the machine's CPU time went during one phase, in seconds
// of CPU (2.0 over one second of wall time is two busy cores). It shows
// whether the broker, the load generator or somebody else's work (other
// processes on a shared machine) had the cores.
type cpuUse struct {
	BrokerSeconds  float64 `json:"broker_cpu_s,omitempty"`
	ClientSeconds  float64 `json:"client_cpu_s"`
	MachineSeconds float64 `json:"machine_busy_cpu_s"`
	OtherSeconds   float64 `json:"other_cpu_s"`
}

// cpuMark is a reading of the CPU counters at one instant.
type cpuMark struct{ broker, client, machine float64 }

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux
// architecture Go supports.
const clockTicks = 100

func markCPU(brokerPID int) cpuMark {
	var m cpuMark
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		m.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	m.machine = machineBusySeconds()
	if brokerPID > 0 {
		m.broker = processSeconds(brokerPID)
	}
	return m
}

func (m cpuMark) since(start cpuMark) cpuUse {
	u := cpuUse{
		BrokerSeconds:  round(m.broker-start.broker, 2),
		ClientSeconds:  round(m.client-start.client, 2),
		MachineSeconds: round(m.machine-start.machine, 2),
	}
	u.OtherSeconds = round(max(0, u.MachineSeconds-u.BrokerSeconds-u.ClientSeconds), 2)
	return u
}

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
	return ticks / clockTicks
}

// processSeconds is the user plus system CPU time of process pid so far.
func processSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start at field 3, so utime (14) is index 11.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}
