package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
)

// The README section that `report --readme` replaces lies between these.
const (
	readmeBegin = "<!-- bench-compare:begin -->"
	readmeEnd   = "<!-- bench-compare:end -->"
)

// markdown is latest.md: where and how, the targets, every figure, and
// where Skiff's time goes.
func markdown(rep *report) string {
	var b strings.Builder
	b.WriteString("# Skiff, Apache Kafka and kfake: `make bench-compare`\n\n")
	b.WriteString(machineLine(rep) + "\n\n")
	if rep.Method != "" {
		fmt.Fprintf(&b, "Method: %s\n\n", rep.Method)
	}
	if len(rep.Settings) > 0 {
		fmt.Fprintf(&b, "Settings: %s\n\n", settingsText(rep.Settings))
	}
	b.WriteString("## Targets\n\n")
	b.WriteString(targetsTable(rep))
	b.WriteString("\n## Every figure\n\n")
	b.WriteString(figuresTable(rep))
	if len(rep.Profile) > 0 {
		b.WriteString("\n## Where Skiff's time goes\n\n")
		b.WriteString("CPU profile of `skiff server` during its franz-go produce run of 100-byte records " +
			"(acks=all, 6 partitions), top functions (`bench/results/skiff-compare-profile.txt`):\n\n```\n")
		for _, l := range rep.Profile {
			b.WriteString(l + "\n")
		}
		b.WriteString("```\n")
	}
	return b.String()
}

// machineLine labels the absolute numbers with where they came from.
func machineLine(rep *report) string {
	m := rep.Machine
	get := func(k string) string {
		if v := m[k]; v != "" {
			return v
		}
		return "?"
	}
	mem := get("memory_kb")
	var kb float64
	if _, err := fmt.Sscan(mem, &kb); err == nil && kb > 0 {
		mem = fmt.Sprintf("%.0f GB", kb/1024/1024)
	}
	return fmt.Sprintf("Absolute numbers are from one machine: %s cores (%s), %s RAM, Linux %s; %s; %s, %s, Apache Kafka %s; "+
		"Skiff at commit %s. Ratios are Skiff's figure over the peer's, all measured in the same run.",
		get("nproc"), get("cpu"), mem, get("kernel"), get("date"), get("go"), get("java"), get("kafka"), get("commit"))
}

func settingsText(s map[string]string) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return strings.Join(parts, ", ")
}

func targetsTable(rep *report) string {
	var b strings.Builder
	b.WriteString("| Target | Met | Measured |\n|---|---|---|\n")
	for _, t := range rep.Targets {
		met := "**no**"
		if t.Met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, met, cell(t.Detail))
	}
	return b.String()
}

// figuresTable has one row per figure: the medians and Skiff's ratios.
func figuresTable(rep *report) string {
	var b strings.Builder
	b.WriteString("| Figure | better | Skiff | Apache Kafka | kfake | Skiff/Kafka | Skiff/kfake |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	leftOut, fromDisturbed, saturated := false, false, false
	for _, f := range rep.Figures {
		better := "↑"
		if f.Better == "lower" {
			better = "↓"
		}
		fmt.Fprintf(&b, "| %s | %s |", cell(f.Label), better)
		for _, br := range brokers {
			v, ok := f.Values[br]
			text := "–"
			if ok {
				text = valueText(f, br, v)
				if f.Disturbed[br] > 0 {
					text += "°"
					leftOut = true
				}
				if f.FromDisturbed[br] {
					text += "*"
					fromDisturbed = true
				}
				if f.Saturated[br] {
					text += "†"
					saturated = true
				}
			}
			fmt.Fprintf(&b, " %s |", text)
		}
		for _, p := range peers {
			r, ok := f.Ratio[p]
			text := "–"
			if ok {
				text = ratioText(r)
				if beats(f, r) {
					text = "**" + text + "**"
				}
			}
			fmt.Fprintf(&b, " %s |", text)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nBold: Skiff at par or better. ↑ higher is better, ↓ lower is better. " +
		"Throughput is records/s with record-value MB/s (10⁶ bytes); medians over the rounds.\n")
	if leftOut {
		b.WriteString("° runs that other processes disturbed in every attempt were left out of this median.\n")
	}
	if saturated {
		b.WriteString("† the run missed the fixed rate by more than 5% (it fell behind, or caught up after falling behind): " +
			"the broker or the machine could not keep up, so this latency includes queueing.\n")
	}
	if fromDisturbed {
		b.WriteString("\\* every run of this figure was disturbed by other processes (they took more than the " +
			"allowed CPU in every attempt): treat it with caution.\n")
	}
	return b.String()
}

// beats says whether ratio r is at par or better for Skiff.
func beats(f *figure, r float64) bool {
	if f.Better == "lower" {
		return r <= 1
	}
	return r >= 1
}

func valueText(f *figure, broker string, v float64) string {
	switch f.Unit {
	case "records/s":
		s := rateText(v)
		if mb := f.MBPerSec[broker]; mb > 0 {
			s += fmt.Sprintf(" (%.0f MB/s)", mb)
		}
		return s
	case "ms":
		return msText(v)
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	}
	return fmt.Sprintf("%g %s", v, f.Unit)
}

func rateText(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k/s", v/1e3)
	}
	return fmt.Sprintf("%.0f /s", v)
}

func msText(v float64) string {
	switch {
	case v == 0:
		// ProducerPerformance reports whole milliseconds: 0 is under one.
		return "<1 ms"
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// cell keeps a table cell on one row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// readmeSection is what the README shows between its markers.
func readmeSection(rep *report) string {
	var b strings.Builder
	b.WriteString("Generated by `make bench-compare` (details, method and profile: `bench/results/latest.md`, " +
		"chart: `bench/results/latest.svg`). " + machineLine(rep) + "\n\n")
	b.WriteString(targetsTable(rep))
	b.WriteString("\n")
	b.WriteString(figuresTable(rep))
	return b.String()
}

// updateReadme replaces what lies between the markers of the README at path.
func updateReadme(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceBetween(b, section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

func replaceBetween(doc []byte, section string) ([]byte, error) {
	i := bytes.Index(doc, []byte(readmeBegin))
	j := bytes.Index(doc, []byte(readmeEnd))
	if i < 0 || j < i {
		return nil, fmt.Errorf("no %s ... %s markers: put them, each on its own line, where the table should go", readmeBegin, readmeEnd)
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(readmeBegin)])
	out.WriteString("\n" + strings.TrimRight(section, "\n") + "\n")
	out.Write(doc[j:])
	return out.Bytes(), nil
}
