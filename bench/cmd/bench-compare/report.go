package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// The brokers, in the order tables and charts show them. Skiff is measured
// against each of the others.
var brokers = []string{"skiff", "kafka", "kfake"}

// peers are the brokers Skiff's ratios are taken to.
var peers = brokers[1:]

// runLine is one line of compare.sh's runs.jsonl.
type runLine struct {
	// Type is "load" (a run of a load tool), "coldstart" or "footprint".
	Type   string `json:"type"`
	Broker string `json:"broker"`
	Round  int    `json:"round"`

	// Load runs: which tool, which test and the settings it ran with.
	Tool       string `json:"tool"` // "perf-test" (Kafka's tools) or "franz-go" (skiff-load)
	Test       string `json:"test"` // "produce", "consume" or "latency"
	RecordSize int    `json:"record_size"`
	Acks       string `json:"acks"`
	Partitions int    `json:"partitions"`
	Rate       int    `json:"rate"`
	Disturbed  bool   `json:"disturbed"`
	Result     struct {
		Produce *phase `json:"produce"`
		Consume *phase `json:"consume"`
		// coldstart lines
		APIVersionsMs float64 `json:"api_versions_ms"`
		MetadataMs    float64 `json:"metadata_ms"`
	} `json:"result"`

	// Footprint lines.
	InstallBytes int64  `json:"install_bytes"`
	Install      string `json:"install"`
	IdleRSSKB    int64  `json:"idle_rss_kb"`
	LoadedRSSKB  int64  `json:"loaded_rss_kb"`
}

// figure is one measured quantity with a value per broker.
type figure struct {
	ID     string `json:"id"`
	Group  string `json:"group"` // produce, consume, latency, startup, footprint
	Label  string `json:"label"`
	Unit   string `json:"unit"`
	Better string `json:"better"` // "higher" or "lower"
	// Values are the medians over the undisturbed runs of each broker.
	Values map[string]float64 `json:"values"`
	// MBPerSec goes with throughput figures.
	MBPerSec map[string]float64 `json:"mb_per_sec,omitempty"`
	// Runs counts the values behind each median; Disturbed counts the runs
	// left out because other processes took the CPU meanwhile, and
	// FromDisturbed marks the brokers whose every run was disturbed, so that
	// their median is taken over those.
	Runs          map[string]int  `json:"runs"`
	Disturbed     map[string]int  `json:"disturbed_runs_left_out,omitempty"`
	FromDisturbed map[string]bool `json:"from_disturbed_runs,omitempty"`
	// Saturated marks the brokers whose latency runs missed the fixed rate
	// by more than 5%.
	Saturated map[string]bool `json:"rate_not_held,omitempty"`
	// Ratio is Skiff's value over each peer's.
	Ratio map[string]float64 `json:"ratio_skiff_over"`

	order  []int // sort key
	values map[string][]sample
}

type sample struct {
	value, mb float64
	disturbed bool
	// saturated marks a latency run that did not hold its fixed rate within
	// 5%: the broker (or the machine) could not keep up, so it measured
	// queueing.
	saturated bool
}

// target is one of issue 5's targets and whether this run met it.
type target struct {
	Name   string `json:"name"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// report is latest.json.
type report struct {
	Machine  map[string]string `json:"machine"`
	Settings map[string]string `json:"settings"`
	Method   string            `json:"method"`
	Brokers  []string          `json:"brokers"`
	Targets  []target          `json:"targets"`
	Figures  []*figure         `json:"figures"`
	Profile  []string          `json:"skiff_profile_top,omitempty"`
	Runs     []json.RawMessage `json:"runs"`
}

func reportMain(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	runsPath := fs.String("runs", "", "runs.jsonl that compare.sh wrote")
	jsonOut := fs.String("json", "", "write the report as JSON here")
	mdOut := fs.String("md", "", "write the Markdown table here")
	svgOut := fs.String("svg", "", "write the SVG chart here")
	readme := fs.String("readme", "", "replace the section between the bench-compare markers of this README")
	machine := fs.String("machine", "", "the machine, key=value;key=value")
	settings := fs.String("settings", "", "the settings, key=value;key=value")
	method := fs.String("method", "", "how the figures were taken")
	profile := fs.String("profile", "", "pprof -top output of skiff; its top functions go into the report")
	fs.Parse(args)

	f, err := os.Open(*runsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := buildReport(f, keyValues(*machine), keyValues(*settings), *method)
	if err != nil {
		return err
	}
	if *profile != "" {
		if b, err := os.ReadFile(*profile); err == nil {
			rep.Profile = profileTop(string(b), 25)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	md := markdown(rep)
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if *svgOut != "" {
		if err := os.WriteFile(*svgOut, []byte(chart(rep)), 0o644); err != nil {
			return err
		}
	}
	if *readme != "" {
		if err := updateReadme(*readme, readmeSection(rep)); err != nil {
			return err
		}
	}
	fmt.Print(targetsText(rep))
	return nil
}

// buildReport reads runs.jsonl and computes every figure, ratio and target.
func buildReport(r io.Reader, machine, settings map[string]string, method string) (*report, error) {
	rep := &report{Machine: machine, Settings: settings, Method: method, Brokers: brokers}
	figs := map[string]*figure{}
	add := func(id, group, label, unit, better string, order []int, broker string, s sample) {
		f := figs[id]
		if f == nil {
			f = &figure{ID: id, Group: group, Label: label, Unit: unit, Better: better, order: order,
				values: map[string][]sample{}}
			figs[id] = f
		}
		f.values[broker] = append(f.values[broker], s)
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var x runLine
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return nil, fmt.Errorf("runs: %q: %w", line, err)
		}
		if !slices.Contains(brokers, x.Broker) {
			return nil, fmt.Errorf("runs: broker %q, want one of %v", x.Broker, brokers)
		}
		rep.Runs = append(rep.Runs, json.RawMessage(line))
		for _, m := range measurements(x) {
			add(m.id, m.group, m.label, m.unit, m.better, m.order, x.Broker, m.sample)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(figs) == 0 {
		return nil, errors.New("runs: no measurements")
	}
	for _, f := range figs {
		f.summarise()
		rep.Figures = append(rep.Figures, f)
	}
	slices.SortFunc(rep.Figures, func(a, b *figure) int { return slices.Compare(a.order, b.order) })
	rep.Targets = targets(rep.Figures)
	return rep, nil
}

// measurement is one value a run line contributes to a figure.
type measurement struct {
	id, group, label, unit, better string
	order                          []int
	sample                         sample
}

var groupOrder = map[string]int{"produce": 0, "consume": 1, "latency": 2, "startup": 3, "footprint": 4}

// toolName is how tables name each load tool.
var toolName = map[string]string{"perf-test": "Kafka perf-test", "franz-go": "franz-go"}

func measurements(x runLine) []measurement {
	var out []measurement
	tool := map[string]int{"perf-test": 0, "franz-go": 1}[x.Tool]
	acks := map[string]int{"1": 0, "all": 1}[x.Acks]
	throughput := func(test string, p *phase) {
		if p == nil || p.RecordsPerSec == 0 {
			return
		}
		id := fmt.Sprintf("%s.%s.%dB.p%d", test, x.Tool, x.RecordSize, x.Partitions)
		label := fmt.Sprintf("%s %s, %s, %s", toolName[x.Tool], test, sizeName(x.RecordSize), partitionsName(x.Partitions))
		if test == "produce" {
			id = fmt.Sprintf("produce.%s.%dB.acks%s.p%d", x.Tool, x.RecordSize, x.Acks, x.Partitions)
			label = fmt.Sprintf("%s produce, %s, acks=%s, %s", toolName[x.Tool], sizeName(x.RecordSize), x.Acks, partitionsName(x.Partitions))
		}
		out = append(out, measurement{id, test, label, "records/s", "higher",
			[]int{groupOrder[test], tool, x.RecordSize, acks, x.Partitions},
			sample{value: p.RecordsPerSec, mb: p.MBPerSec, disturbed: x.Disturbed}})
	}
	switch {
	case x.Type == "load" && x.Test == "latency":
		if p := x.Result.Produce; p != nil {
			// Below the rate it fell behind; above it, it was catching up
			// after falling behind (ProducerPerformance's steady state does).
			saturated := math.Abs(p.RecordsPerSec/float64(x.Rate)-1) > 0.05
			for i, q := range []struct {
				name string
				v    float64
			}{{"p50", p.AckP50Ms}, {"p99", p.AckP99Ms}, {"p99.9", p.AckP999Ms}} {
				out = append(out, measurement{
					fmt.Sprintf("latency.%s.%s", x.Tool, q.name), "latency",
					fmt.Sprintf("%s produce latency %s at %d rec/s (%s, acks=%s, %s, linger 0)",
						toolName[x.Tool], q.name, x.Rate, sizeName(x.RecordSize), x.Acks, partitionsName(x.Partitions)),
					"ms", "lower", []int{groupOrder["latency"], tool, i}, sample{value: q.v, disturbed: x.Disturbed, saturated: saturated}})
			}
		}
	case x.Type == "load":
		throughput("produce", x.Result.Produce)
		throughput("consume", x.Result.Consume)
	case x.Type == "coldstart":
		out = append(out,
			measurement{"startup.api_versions", "startup", "cold start: process start to first answered ApiVersions",
				"ms", "lower", []int{groupOrder["startup"], 0}, sample{value: x.Result.APIVersionsMs}},
			measurement{"startup.metadata", "startup", "process start to first answered Metadata",
				"ms", "lower", []int{groupOrder["startup"], 1}, sample{value: x.Result.MetadataMs}})
	case x.Type == "footprint":
		if x.InstallBytes > 0 {
			out = append(out, measurement{"footprint.install", "footprint", "binary / install size",
				"MB", "lower", []int{groupOrder["footprint"], 0}, sample{value: roundTo(float64(x.InstallBytes)/1e6, 1)}})
		}
		if x.IdleRSSKB > 0 {
			out = append(out, measurement{"footprint.idle_rss", "footprint", "idle RSS (started, settled)",
				"MB", "lower", []int{groupOrder["footprint"], 1}, sample{value: roundTo(float64(x.IdleRSSKB)/1024, 1)}})
		}
		if x.LoadedRSSKB > 0 {
			out = append(out, measurement{"footprint.loaded_rss", "footprint", "loaded RSS (peak, VmHWM, over the load runs)",
				"MB", "lower", []int{groupOrder["footprint"], 2}, sample{value: roundTo(float64(x.LoadedRSSKB)/1024, 1)}})
		}
	}
	return out
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func partitionsName(n int) string {
	if n == 1 {
		return "1 partition"
	}
	return fmt.Sprintf("%d partitions", n)
}

// summarise takes the medians, leaving out disturbed runs unless every run
// of that broker was disturbed, and Skiff's ratio to each peer.
func (f *figure) summarise() {
	f.Values, f.Runs, f.Ratio = map[string]float64{}, map[string]int{}, map[string]float64{}
	for b, ss := range f.values {
		var clean []sample
		for _, s := range ss {
			if !s.disturbed {
				clean = append(clean, s)
			}
		}
		if len(clean) == 0 {
			clean = ss
			if f.FromDisturbed == nil {
				f.FromDisturbed = map[string]bool{}
			}
			f.FromDisturbed[b] = true
		} else if n := len(ss) - len(clean); n > 0 {
			if f.Disturbed == nil {
				f.Disturbed = map[string]int{}
			}
			f.Disturbed[b] = n
		}
		vals, mbs := make([]float64, len(clean)), make([]float64, len(clean))
		for i, s := range clean {
			vals[i], mbs[i] = s.value, s.mb
			if s.saturated {
				if f.Saturated == nil {
					f.Saturated = map[string]bool{}
				}
				f.Saturated[b] = true
			}
		}
		f.Values[b], f.Runs[b] = median(vals), len(clean)
		if m := median(mbs); m > 0 {
			if f.MBPerSec == nil {
				f.MBPerSec = map[string]float64{}
			}
			f.MBPerSec[b] = roundTo(m, 1)
		}
	}
	skiff, ok := f.Values["skiff"]
	if !ok {
		return
	}
	for _, p := range peers {
		if v, ok := f.Values[p]; ok && v > 0 {
			f.Ratio[p] = roundTo(skiff/v, 3)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// targets checks issue 5's targets. A throughput target is met when Skiff is
// at least at par in every cell measured; the detail gives how many cells
// were, their geometric mean and the worst.
func targets(figs []*figure) []target {
	var out []target
	for _, group := range []string{"produce", "consume"} {
		for _, peer := range peers {
			out = append(out, ratioTarget(figs, fmt.Sprintf("%s throughput ≥ 1.0× %s", group, peerName(peer)), peer,
				func(f *figure) bool { return f.Group == group }, 1.0, true))
		}
	}
	out = append(out, ratioTarget(figs, "produce p99 latency ≤ Apache Kafka's", "kafka",
		func(f *figure) bool { return f.Group == "latency" && strings.HasSuffix(f.ID, ".p99") }, 1.0, false))
	out = append(out, ratioTarget(figs, "cold start ≤ 1/20 of Apache Kafka's", "kafka",
		func(f *figure) bool { return f.ID == "startup.api_versions" }, 1.0/20, false))
	out = append(out, ratioTarget(figs, "idle RSS ≤ 1/10 of Apache Kafka's", "kafka",
		func(f *figure) bool { return f.ID == "footprint.idle_rss" }, 1.0/10, false))
	return out
}

func peerName(p string) string {
	if p == "kafka" {
		return "Apache Kafka"
	}
	return p
}

// ratioTarget: every figure matching pick must have Skiff/peer ≥ bound
// (atLeast) or ≤ bound.
func ratioTarget(figs []*figure, name, peer string, pick func(*figure) bool, bound float64, atLeast bool) target {
	t := target{Name: name}
	var n, ok int
	logSum := 0.0
	worst, worstLabel := math.NaN(), ""
	for _, f := range figs {
		r, has := f.Ratio[peer]
		if !pick(f) || !has || r <= 0 {
			continue
		}
		n++
		logSum += math.Log(r)
		if (atLeast && r >= bound) || (!atLeast && r <= bound) {
			ok++
		}
		if math.IsNaN(worst) || (atLeast && r < worst) || (!atLeast && r > worst) {
			worst, worstLabel = r, f.Label
		}
	}
	if n == 0 {
		t.Detail = "not measured in this run"
		return t
	}
	t.Met = ok == n
	if n == 1 {
		t.Detail = fmt.Sprintf("Skiff/%s %s", peer, ratioText(worst))
		return t
	}
	t.Detail = fmt.Sprintf("%d of %d cells; geometric mean %s; worst %s (%s)",
		ok, n, ratioText(math.Exp(logSum/float64(n))), ratioText(worst), worstLabel)
	return t
}

func ratioText(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	case r >= 0.1:
		return fmt.Sprintf("%.2f×", r)
	default:
		return fmt.Sprintf("%.3f× (1/%.0f)", r, 1/r)
	}
}

func targetsText(rep *report) string {
	var b strings.Builder
	for _, t := range rep.Targets {
		mark := "NOT MET"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(&b, "%-40s %-8s %s\n", t.Name, mark, t.Detail)
	}
	return b.String()
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

// profileTop keeps the header and the first n function lines of pprof -top.
func profileTop(s string, n int) []string {
	var out []string
	rows := -1
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if strings.Contains(line, "flat%") {
			rows = 0
			out = append(out, line)
			continue
		}
		if rows >= 0 && rows < n {
			out = append(out, line)
			rows++
		}
	}
	return out
}
