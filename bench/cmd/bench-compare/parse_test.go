package main

import (
	"strings"
	"testing"
	"time"
)

// Output as Kafka 4.4's tools print it, progress lines and warnings included.
const producerOutput = `Option --producer-props has been deprecated and will be removed in a future version. Use --command-property instead.
171238 records sent, 34247.6 records/sec (3.27 MB/sec), 512.3 ms avg latency, 901.0 ms max latency.
500000 records sent, 99324.592769 records/sec (9.47 MB/sec), 164.29 ms avg latency, 669.00 ms max latency, 124 ms 50th, 415 ms 95th, 463 ms 99th, 480 ms 99.9th.
`

const consumerOutput = `Warning: --messages is deprecated. Use --num-records instead.
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-11-23 23:08:18:319, 2026-11-23 23:08:20:462, 47.6837, 22.2509, 500000, 233317.7788, 905, 1238, 38.5167, 403877.2213
`

func TestParseProducerPerformance(t *testing.T) {
	p, records, err := parseProducerPerformance(strings.NewReader(producerOutput), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := phase{Seconds: 5.034, RecordsPerSec: 99325, MBPerSec: 9.9, AckP50Ms: 124, AckP99Ms: 463, AckP999Ms: 480, AckMaxMs: 669}
	if records != 500000 || p != want {
		t.Errorf("got %d records, %+v; want 500000, %+v", records, p, want)
	}
}

func TestParseProducerPerformanceSteadyState(t *testing.T) {
	out := `Warmup first 20000 records. Steady state results will print after the complete test summary.
18039 records sent, 3601.3 records/sec (0.34 MB/sec), 2771.0 ms avg latency, 5043.0 ms max latency.
60000 records sent, 4417.611545 records/sec (0.42 MB/sec), 866.37 ms avg latency, 6138.00 ms max latency, 26 ms 50th, 4129 ms 95th, 4482 ms 99th, 4643 ms 99.9th.
40000 steady state records sent, 20000.5 records/sec (1.91 MB/sec), 47.61 ms avg latency, 638.00 ms max latency, 21 ms 50th, 86 ms 95th, 630 ms 99th, 638 ms 99.9th.
`
	p, records, err := parseProducerPerformance(strings.NewReader(out), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := phase{Seconds: 2, RecordsPerSec: 20001, MBPerSec: 2, AckP50Ms: 21, AckP99Ms: 630, AckP999Ms: 638, AckMaxMs: 638}
	if records != 40000 || p != want {
		t.Errorf("got %d records, %+v; want the steady state: 40000, %+v", records, p, want)
	}
}

func TestParseProducerPerformanceWithoutSummary(t *testing.T) {
	// Only a progress line: the run did not finish, which must not pass as a result.
	progress := strings.SplitAfter(producerOutput, "\n")[1]
	if _, _, err := parseProducerPerformance(strings.NewReader(progress), 100); err == nil {
		t.Error("a progress line alone parsed as a summary")
	}
}

func TestParseConsumerPerformance(t *testing.T) {
	p, records, err := parseConsumerPerformance(strings.NewReader(consumerOutput), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := phase{Seconds: 1.238, RecordsPerSec: 403877, MBPerSec: 40.4, RebalanceMs: 905, TotalRecordsPerSec: 233318}
	if records != 500000 || p != want {
		t.Errorf("got %d records, %+v; want 500000, %+v", records, p, want)
	}
}

func TestParseConsumerPerformanceNothingConsumed(t *testing.T) {
	out := strings.Replace(consumerOutput, ", 500000, ", ", 0, ", 1)
	out = strings.Replace(out, ", 1238, ", ", 0, ", 1)
	if _, _, err := parseConsumerPerformance(strings.NewReader(out), 100); err == nil {
		t.Error("a run that consumed nothing parsed as a result")
	}
	if _, _, err := parseConsumerPerformance(strings.NewReader("start.time, end.time\n"), 100); err == nil {
		t.Error("a header without values parsed as a result")
	}
}

func TestParseEpochRealtime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1763939298.123456": time.Unix(1763939298, 123456000),
		"1763939298,000001": time.Unix(1763939298, 1000),
		"1763939298":        time.Unix(1763939298, 0),
	} {
		got, err := parseEpochRealtime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseEpochRealtime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseEpochRealtime("soon"); err == nil {
		t.Error("parseEpochRealtime accepted \"soon\"")
	}
}

func TestOthersCores(t *testing.T) {
	p := &phase{Seconds: 2}
	p.CPU.OtherSeconds = 1
	if got := othersCores(p, 0); got != 0.5 {
		t.Errorf("skiff-load phase: %v cores, want 0.5 (others' CPU over the phase)", got)
	}
	if got := othersCores(p, 4); got != 0.25 {
		t.Errorf("perf tool: %v cores, want 0.25 (others' CPU over the whole command)", got)
	}
	if got := othersCores(nil, 4); got != 0 {
		t.Errorf("no phase: %v cores, want 0", got)
	}
}
