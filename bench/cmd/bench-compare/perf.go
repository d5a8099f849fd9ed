package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/skiffstream/skiff/bench/internal/cpustat"
)

// perfResult is one run of a Kafka perf tool in the shape of skiff-load's
// --json result, so that the report reads both the same way.
type perfResult struct {
	Label      string `json:"label,omitempty"`
	Tool       string `json:"tool"`
	Records    int64  `json:"records"`
	RecordSize int    `json:"record_size"`
	// WallSeconds is the whole command, JVM start included; the phase's
	// Seconds is what the tool itself timed.
	WallSeconds float64 `json:"wall_seconds"`
	Produce     *phase  `json:"produce,omitempty"`
	Consume     *phase  `json:"consume,omitempty"`
}

// phase is one phase of a run: skiff-load's phaseResult, plus what only
// ConsumerPerformance reports.
type phase struct {
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AckP50Ms      float64 `json:"ack_p50_ms,omitempty"`
	AckP99Ms      float64 `json:"ack_p99_ms,omitempty"`
	AckP999Ms     float64 `json:"ack_p999_ms,omitempty"`
	AckMaxMs      float64 `json:"ack_max_ms,omitempty"`
	// RebalanceMs is ConsumerPerformance's time to join its group, which
	// its records/s leave out (fetch.nMsg.sec).
	RebalanceMs float64 `json:"rebalance_ms,omitempty"`
	// TotalRecordsPerSec is ConsumerPerformance's nMsg.sec, over the time
	// including the group join.
	TotalRecordsPerSec float64     `json:"total_records_per_sec,omitempty"`
	CPU                cpustat.Use `json:"cpu"`
}

func perfMain(args []string) error {
	fs := flag.NewFlagSet("perf", flag.ExitOnError)
	kind := fs.String("kind", "", "producer (ProducerPerformance) or consumer (ConsumerPerformance)")
	brokerPID := fs.Int("broker-pid", 0, "pid of the broker, for its CPU time")
	recordSize := fs.Int("record-size", 0, "bytes per record, for MB/s (ConsumerPerformance reports MiB)")
	label := fs.String("label", "", "name of the broker, copied into the result")
	fs.Parse(args)
	if fs.NArg() == 0 || (*kind != "producer" && *kind != "consumer") {
		return errors.New("usage: perf --kind producer|consumer [--broker-pid P] [--record-size N] -- CMD [ARG]")
	}

	var out bytes.Buffer
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdout = io.MultiWriter(&out, os.Stderr) // the tool's progress shows on the terminal
	cmd.Stderr = os.Stderr
	start, startCPU := time.Now(), cpustat.Now(*brokerPID)
	err := cmd.Run()
	wall := time.Since(start)
	cpu := cpustat.Now(*brokerPID).Since(startCPU)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(fs.Args(), " "), err)
	}
	// The client is the tool, a child: its time is its rusage, not ours.
	if st := cmd.ProcessState; st != nil {
		cpu = cpu.WithClient(st.UserTime().Seconds() + st.SystemTime().Seconds())
	}

	res := perfResult{Label: *label, RecordSize: *recordSize, WallSeconds: roundTo(wall.Seconds(), 3)}
	var p phase
	if *kind == "producer" {
		res.Tool = "ProducerPerformance"
		p, res.Records, err = parseProducerPerformance(&out, *recordSize)
		res.Produce = &p
	} else {
		res.Tool = "ConsumerPerformance"
		p, res.Records, err = parseConsumerPerformance(&out, *recordSize)
		res.Consume = &p
	}
	if err != nil {
		return err
	}
	p.CPU = cpu
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	return nil
}

// producerSummary matches ProducerPerformance's summary lines, for example
//
//	500000 records sent, 99324.592769 records/sec (9.47 MB/sec), 164.29 ms avg latency, 669.00 ms max latency, 124 ms 50th, 415 ms 95th, 463 ms 99th, 480 ms 99.9th.
//
// and, with --warmup-records, a second one after it for the records that
// followed the warm-up: "40000 steady state records sent, ...". The lines
// it prints every five seconds meanwhile lack the percentiles.
var producerSummary = regexp.MustCompile(`^(\d+) (steady state )?records sent, ([\d.]+) records/sec \([\d.]+ MB/sec\), ` +
	`([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th`)

// parseProducerPerformance reads ProducerPerformance's output: the steady
// state summary if there is one, else the summary of the whole run. Its
// latency runs from send() to the callback, in whole milliseconds for the
// percentiles. MB/s is recomputed in 10^6 bytes, as skiff-load counts.
func parseProducerPerformance(r io.Reader, recordSize int) (phase, int64, error) {
	var m []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line := producerSummary.FindStringSubmatch(strings.TrimSpace(sc.Text())); line != nil && (m == nil || line[2] != "") {
			m = line
		}
	}
	if m == nil {
		return phase{}, 0, errors.New("no summary line (\"N records sent, ... 99.9th.\") in ProducerPerformance's output")
	}
	f := make([]float64, len(m))
	for i := 1; i < len(m); i++ {
		f[i], _ = strconv.ParseFloat(m[i], 64)
	}
	records, rate := int64(f[1]), f[3]
	if records == 0 || rate == 0 {
		return phase{}, 0, fmt.Errorf("ProducerPerformance sent no records: %q", m[0])
	}
	return phase{
		Seconds:       roundTo(f[1]/rate, 3),
		RecordsPerSec: roundTo(rate, 0),
		MBPerSec:      roundTo(rate*float64(recordSize)/1e6, 1),
		AckP50Ms:      f[6],
		AckP99Ms:      f[8],
		AckP999Ms:     f[9],
		AckMaxMs:      f[5],
	}, records, nil
}

// parseConsumerPerformance reads ConsumerPerformance's output: a header line
// of comma-separated column names starting with start.time and one line of
// values, for example
//
//	start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
//	2026-11-23 23:08:18:319, 2026-11-23 23:08:20:462, 47.6837, 22.2509, 500000, 233317.7788, 905, 1238, 38.5167, 403877.2213
//
// The rate taken is fetch.nMsg.sec, over fetch.time.ms: it leaves out the
// group join (rebalance.time.ms), which skiff-load's consumer, assigning
// partitions directly, does not have. nMsg.sec is kept beside it.
func parseConsumerPerformance(r io.Reader, recordSize int) (phase, int64, error) {
	sc := bufio.NewScanner(r)
	var header []string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), ",")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if len(cols) > 0 && cols[0] == "start.time" {
			header = cols
			continue
		}
		if header == nil || len(cols) != len(header) {
			continue
		}
		v := map[string]float64{}
		for i, name := range header {
			v[name], _ = strconv.ParseFloat(cols[i], 64)
		}
		records := int64(v["data.consumed.in.nMsg"])
		if records == 0 || v["fetch.time.ms"] == 0 {
			return phase{}, 0, fmt.Errorf("ConsumerPerformance consumed no records: %q", sc.Text())
		}
		rate := v["fetch.nMsg.sec"]
		return phase{
			Seconds:            roundTo(v["fetch.time.ms"]/1000, 3),
			RecordsPerSec:      roundTo(rate, 0),
			MBPerSec:           roundTo(rate*float64(recordSize)/1e6, 1),
			RebalanceMs:        v["rebalance.time.ms"],
			TotalRecordsPerSec: roundTo(v["nMsg.sec"], 0),
		}, records, nil
	}
	return phase{}, 0, errors.New("no result line under a \"start.time, ...\" header in ConsumerPerformance's output")
}

// disturbedMain reads one result (skiff-load's or perf's) and prints the
// cores other processes used on average in each phase, "produce/consume";
// it returns 3 if either is above --limit.
func disturbedMain(args []string) int {
	fs := flag.NewFlagSet("disturbed", flag.ExitOnError)
	limit := fs.Float64("limit", 0.2, "cores others may use on average")
	fs.Parse(args)
	var res struct {
		WallSeconds float64 `json:"wall_seconds"`
		Produce     *phase  `json:"produce"`
		Consume     *phase  `json:"consume"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&res); err != nil {
		fmt.Fprintf(os.Stderr, "bench-compare disturbed: read a result: %v\n", err)
		return 1
	}
	p, c := othersCores(res.Produce, res.WallSeconds), othersCores(res.Consume, res.WallSeconds)
	fmt.Printf("%.2f/%.2f", p, c)
	if p > *limit || c > *limit {
		return 3
	}
	return 0
}

// othersCores is the CPU other processes used during a phase divided by the
// time it was measured over: the whole command for a perf tool's result
// (wall > 0), the phase for skiff-load's.
func othersCores(p *phase, wall float64) float64 {
	if p == nil {
		return 0
	}
	over := p.Seconds
	if wall > 0 {
		over = wall
	}
	if over <= 0 {
		return 0
	}
	return roundTo(p.CPU.OtherSeconds/over, 2)
}
