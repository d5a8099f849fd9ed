// Command bench-report turns the runs that bench/run.sh collected into the
// table it prints and the JSON it keeps in bench/results/.
//
// It reads one JSON object per line on stdin, each a run of skiff-load
// against one broker wrapped with what run.sh saw around it:
//
//	{"broker":"kfake","round":1,"load1_before":0.4,"rss_kb":912345,"result":{...skiff-load --json...}}
//
// and reports, per broker, every run and the median of each figure, and the
// ratio of Skiff's medians to kfake's.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// run is one line of input.
type run struct {
	Broker      string  `json:"broker"`
	Round       int     `json:"round"`
	Load1Before float64 `json:"load1_before"`
	WaitedS     float64 `json:"waited_s"`
	Disturbed   bool    `json:"disturbed"`
	RSSKB       int64   `json:"rss_kb"`
	Result      struct {
		Records    int    `json:"records"`
		RecordSize int    `json:"record_size"`
		Partitions int    `json:"partitions"`
		Acks       string `json:"acks"`
		Producers  int    `json:"producers"`
		Produce    phase  `json:"produce"`
		Consume    phase  `json:"consume"`
	} `json:"result"`
}

type phase struct {
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	MinSecondRate float64 `json:"min_second_rate"`
	AckP99Ms      float64 `json:"ack_p99_ms"`
	CPU           struct {
		Broker float64 `json:"broker_cpu_s"`
		Client float64 `json:"client_cpu_s"`
		Other  float64 `json:"other_cpu_s"`
	} `json:"cpu"`
}

// summary is one broker's medians.
type summary struct {
	Broker         string  `json:"broker"`
	Runs           int     `json:"runs"`
	Excluded       int     `json:"disturbed_runs_excluded"`
	ProduceRecS    float64 `json:"produce_records_per_sec"`
	ProduceMBS     float64 `json:"produce_mb_per_sec"`
	ConsumeRecS    float64 `json:"consume_records_per_sec"`
	ConsumeMBS     float64 `json:"consume_mb_per_sec"`
	ProduceCPUUs   float64 `json:"produce_broker_cpu_us_per_record"`
	ConsumeCPUUs   float64 `json:"consume_broker_cpu_us_per_record"`
	ProduceCores   float64 `json:"produce_broker_cores"`
	ConsumeCores   float64 `json:"consume_broker_cores"`
	ProduceClient  float64 `json:"produce_client_cores"`
	ProduceAckP99  float64 `json:"produce_ack_p99_ms"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	MaxLoad1Before float64 `json:"max_load1_before"`
}

func main() {
	out := flag.String("out", "", "write the report as JSON to this file")
	machine := flag.String("machine", "", "machine description, key=value;key=value")
	settings := flag.String("settings", "", "load settings, key=value;key=value")
	method := flag.String("method", "", "how the figures were taken, one line")
	disturbed := flag.Float64("disturbed", 0, "instead of reporting, read one skiff-load --json result and exit 3 "+
		"if other processes used more than this many cores on average in either phase")
	flag.Parse()

	if *disturbed > 0 {
		os.Exit(checkDisturbed(os.Stdin, *disturbed))
	}

	runs, raw, err := readRuns(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-report: %v\n", err)
		os.Exit(1)
	}
	sums := summarise(runs)
	ratio := ratios(sums)
	printTable(os.Stdout, runs, sums, ratio)

	if *out == "" {
		return
	}
	report := struct {
		Machine  map[string]string  `json:"machine"`
		Settings map[string]string  `json:"settings"`
		Method   string             `json:"method"`
		Medians  []summary          `json:"medians"`
		Ratio    map[string]float64 `json:"ratio_skiff_over_kfake"`
		Runs     []json.RawMessage  `json:"runs"`
	}{keyValues(*machine), keyValues(*settings), *method, sums, ratio, raw}
	b, _ := json.MarshalIndent(report, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench-report: %v\n", err)
		os.Exit(1)
	}
}

// readRuns returns the runs on r, decoded and as the lines they came in (the
// JSON report keeps every field skiff-load printed).
func readRuns(r io.Reader) ([]run, []json.RawMessage, error) {
	var runs []run
	var raw []json.RawMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var x run
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return nil, nil, fmt.Errorf("read run %q: %w", line, err)
		}
		runs = append(runs, x)
		raw = append(raw, json.RawMessage(line))
	}
	if len(runs) == 0 {
		return nil, nil, fmt.Errorf("no runs on stdin")
	}
	return runs, raw, sc.Err()
}

func summarise(runs []run) []summary {
	var order []string
	by := map[string][]run{}
	for _, r := range runs {
		if _, ok := by[r.Broker]; !ok {
			order = append(order, r.Broker)
		}
		by[r.Broker] = append(by[r.Broker], r)
	}
	var sums []summary
	for _, b := range order {
		rs, excluded := undisturbed(by[b])
		med := func(f func(run) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			return round2(median(v))
		}
		s := summary{
			Broker:        b,
			Runs:          len(rs),
			Excluded:      excluded,
			ProduceRecS:   med(func(r run) float64 { return r.Result.Produce.RecordsPerSec }),
			ProduceMBS:    med(func(r run) float64 { return r.Result.Produce.MBPerSec }),
			ConsumeRecS:   med(func(r run) float64 { return r.Result.Consume.RecordsPerSec }),
			ConsumeMBS:    med(func(r run) float64 { return r.Result.Consume.MBPerSec }),
			ProduceCPUUs:  med(func(r run) float64 { return usPerRecord(r, r.Result.Produce) }),
			ConsumeCPUUs:  med(func(r run) float64 { return usPerRecord(r, r.Result.Consume) }),
			ProduceCores:  med(func(r run) float64 { return cores(r.Result.Produce) }),
			ConsumeCores:  med(func(r run) float64 { return cores(r.Result.Consume) }),
			ProduceClient: med(func(r run) float64 { return clientCores(r.Result.Produce) }),
			ProduceAckP99: med(func(r run) float64 { return r.Result.Produce.AckP99Ms }),
			PeakRSSMB:     med(func(r run) float64 { return float64(r.RSSKB) / 1024 }),
		}
		for _, r := range rs {
			s.MaxLoad1Before = max(s.MaxLoad1Before, r.Load1Before)
		}
		sums = append(sums, s)
	}
	return sums
}

// undisturbed leaves out the runs that other processes disturbed, unless
// every run was.
func undisturbed(rs []run) ([]run, int) {
	var clean []run
	for _, r := range rs {
		if !r.Disturbed {
			clean = append(clean, r)
		}
	}
	if len(clean) == 0 {
		return rs, 0
	}
	return clean, len(rs) - len(clean)
}

// cores is the broker's average CPU use during a phase, in cores.
func cores(p phase) float64 {
	if p.Seconds == 0 {
		return 0
	}
	return round2(p.CPU.Broker / p.Seconds)
}

// clientCores is the load generator's average CPU use during a phase.
func clientCores(p phase) float64 {
	if p.Seconds == 0 {
		return 0
	}
	return round2(p.CPU.Client / p.Seconds)
}

// usPerRecord is the broker's CPU time per record in a phase, in µs: what a
// record costs the broker, whoever else needed the cores at the time.
func usPerRecord(r run, p phase) float64 {
	if r.Result.Records == 0 {
		return 0
	}
	return round2(p.CPU.Broker * 1e6 / float64(r.Result.Records))
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ratios divides Skiff's medians by kfake's.
func ratios(sums []summary) map[string]float64 {
	var skiff, kfake *summary
	for i := range sums {
		switch sums[i].Broker {
		case "skiff":
			skiff = &sums[i]
		case "kfake":
			kfake = &sums[i]
		}
	}
	if skiff == nil || kfake == nil || kfake.ProduceRecS == 0 || kfake.ConsumeRecS == 0 {
		return nil
	}
	r := map[string]float64{
		"produce": round2(skiff.ProduceRecS / kfake.ProduceRecS),
		"consume": round2(skiff.ConsumeRecS / kfake.ConsumeRecS),
	}
	if kfake.ProduceCPUUs > 0 && kfake.ConsumeCPUUs > 0 {
		r["produce_broker_cpu_per_record"] = round2(skiff.ProduceCPUUs / kfake.ProduceCPUUs)
		r["consume_broker_cpu_per_record"] = round2(skiff.ConsumeCPUUs / kfake.ConsumeCPUUs)
	}
	return r
}

func printTable(w io.Writer, runs []run, sums []summary, ratio map[string]float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "broker\trun\tload1\tproduce rec/s\tproduce MB/s\tconsume rec/s\tconsume MB/s\t"+
		"broker CPU µs/rec p/c\tclient cores p/c\tothers' CPU s p/c\tack p99 ms\tpeak RSS MB\t")
	anyDisturbed := false
	for _, r := range runs {
		p, c := r.Result.Produce, r.Result.Consume
		mark := ""
		if r.Disturbed {
			mark, anyDisturbed = "*", true
		}
		fmt.Fprintf(tw, "%s\t%d%s\t%.2f\t%.0f\t%.1f\t%.0f\t%.1f\t%.2f/%.2f\t%.2f/%.2f\t%.1f/%.1f\t%.0f\t%.0f\t\n",
			r.Broker, r.Round, mark, r.Load1Before, p.RecordsPerSec, p.MBPerSec, c.RecordsPerSec, c.MBPerSec,
			usPerRecord(r, p), usPerRecord(r, c), clientCores(p), clientCores(c),
			p.CPU.Other, c.CPU.Other, p.AckP99Ms, float64(r.RSSKB)/1024)
	}
	for _, s := range sums {
		fmt.Fprintf(tw, "%s\tmedian\t\t%.0f\t%.1f\t%.0f\t%.1f\t%.2f/%.2f\t\t\t%.0f\t%.0f\t\n",
			s.Broker, s.ProduceRecS, s.ProduceMBS, s.ConsumeRecS, s.ConsumeMBS,
			s.ProduceCPUUs, s.ConsumeCPUUs, s.ProduceAckP99, s.PeakRSSMB)
	}
	tw.Flush()
	if anyDisturbed {
		fmt.Fprintln(w, "* other processes took CPU in every attempt of this run; the medians leave it out")
	}
	if ratio == nil {
		return
	}
	fmt.Fprintf(w, "\nSkiff/kfake (medians, records/s): produce %.2fx, consume %.2fx (target >= 1.00x)\n",
		ratio["produce"], ratio["consume"])
	if _, ok := ratio["produce_broker_cpu_per_record"]; ok {
		fmt.Fprintf(w, "Skiff/kfake broker CPU per record (lower is cheaper): produce %.2fx, consume %.2fx\n",
			ratio["produce_broker_cpu_per_record"], ratio["consume_broker_cpu_per_record"])
	}
}

// checkDisturbed prints the cores other processes used in each phase of the
// skiff-load result on r, and returns 3 if either exceeds limit.
func checkDisturbed(r io.Reader, limit float64) int {
	var res struct{ Produce, Consume phase }
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		fmt.Fprintf(os.Stderr, "bench-report: read skiff-load result: %v\n", err)
		return 1
	}
	other := func(p phase) float64 {
		if p.Seconds == 0 {
			return 0
		}
		return p.CPU.Other / p.Seconds
	}
	p, c := other(res.Produce), other(res.Consume)
	fmt.Printf("%.2f/%.2f", p, c)
	if p > limit || c > limit {
		return 3
	}
	return 0
}

// keyValues parses "a=1;b=2" into a map, keeping the text after the first '='.
func keyValues(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}
