package main

import (
	"encoding/xml"
	"io"
	"os"
	"strings"
	"testing"
)

func testReport(t *testing.T) *report {
	t.Helper()
	f, err := os.Open("testdata/runs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := buildReport(f, keyValues("nproc=2;cpu=Test CPU;memory_kb=25165824;commit=abc1234"), nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func findFigure(t *testing.T, rep *report, id string) *figure {
	t.Helper()
	for _, f := range rep.Figures {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("no figure %s", id)
	return nil
}

func TestReportRatios(t *testing.T) {
	rep := testReport(t)
	for _, c := range []struct {
		id            string
		skiff         float64
		kafka, kfake  float64 // ratios; 0: none
		disturbedRuns int     // Kafka's runs left out
	}{
		{"produce.perf-test.100B.acks1.p6", 500000, 1.25, 0.8, 0},
		{"consume.perf-test.100B.p6", 1e6, 0.8, 0, 0},
		// Kafka's disturbed run (100 records/s) is left out of its median.
		{"produce.franz-go.100B.acksall.p6", 1e6, 1.25, 0, 1},
		{"consume.franz-go.100B.p6", 2e6, 2, 0, 1},
		{"latency.franz-go.p99", 1.2, 0.3, 0, 0},
		{"startup.api_versions", 40, 0.01, 4, 0},
		{"footprint.idle_rss", 20, 0.05, 2, 0},
	} {
		f := findFigure(t, rep, c.id)
		if f.Values["skiff"] != c.skiff || f.Ratio["kafka"] != c.kafka || f.Ratio["kfake"] != c.kfake ||
			f.Disturbed["kafka"] != c.disturbedRuns {
			t.Errorf("%s: skiff %v, ratios %v, disturbed %v; want %v, kafka %v kfake %v, %d disturbed",
				c.id, f.Values["skiff"], f.Ratio, f.Disturbed, c.skiff, c.kafka, c.kfake, c.disturbedRuns)
		}
	}
	// Produce figures come first, latency after consume, footprint last.
	if g := rep.Figures[0].Group; g != "produce" {
		t.Errorf("first figure is %s, want produce", g)
	}
	if g := rep.Figures[len(rep.Figures)-1].Group; g != "footprint" {
		t.Errorf("last figure is %s, want footprint", g)
	}
}

func TestReportTargets(t *testing.T) {
	rep := testReport(t)
	want := map[string]bool{
		"produce throughput ≥ 1.0× Apache Kafka": true,  // 1.25 and 1.25
		"produce throughput ≥ 1.0× kfake":        false, // 0.8
		"consume throughput ≥ 1.0× Apache Kafka": false, // 0.8 and 2
		"consume throughput ≥ 1.0× kfake":        false, // not measured
		"produce p99 latency ≤ Apache Kafka's":   true,
		"cold start ≤ 1/20 of Apache Kafka's":    true,
		"idle RSS ≤ 1/10 of Apache Kafka's":      true,
	}
	if len(rep.Targets) != len(want) {
		t.Fatalf("%d targets, want %d", len(rep.Targets), len(want))
	}
	for _, tg := range rep.Targets {
		met, ok := want[tg.Name]
		if !ok || met != tg.Met {
			t.Errorf("target %q met=%v (%s); want known and met=%v", tg.Name, tg.Met, tg.Detail, met)
		}
	}
	if d := rep.Targets[2].Detail; !strings.HasPrefix(d, "1 of 2 cells") {
		t.Errorf("consume vs Kafka detail %q, want it to start with \"1 of 2 cells\"", d)
	}
}

func TestMarkdown(t *testing.T) {
	rep := testReport(t)
	rep.Profile = profileTop("# comment\n      flat  flat%   sum%        cum   cum%\n     0.41s 34.17% 34.17%      0.41s 34.17%  runtime.memmove\n", 25)
	md := markdown(rep)
	for _, want := range []string{
		"2 cores (Test CPU), 24 GB RAM",
		"Skiff at commit abc1234",
		"| Kafka perf-test produce, 100 B, acks=1, 6 partitions | ↑ | 500 k/s (50 MB/s) | 400 k/s (40 MB/s) | 625 k/s (62 MB/s) | **1.25×** | 0.80× |",
		"| cold start ≤ 1/20 of Apache Kafka's | yes | Skiff/kafka 0.010× (1/100) |",
		"| consume throughput ≥ 1.0× kfake | **no** | not measured in this run |",
		"runtime.memmove",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q; it is:\n%s", want, md)
		}
	}
}

func TestChartIsWellFormedSVG(t *testing.T) {
	svg := chart(testReport(t))
	d := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "fill" && a.Value == brokerColour["skiff"] {
					rects++
				}
			}
		}
	}
	// Skiff has a bar in each of the 4 throughput figures and the 3 latency
	// ones, plus its legend square.
	if rects != 4+3+1 {
		t.Errorf("%d Skiff-coloured rects, want 8", rects)
	}
}

func TestReplaceBetweenMarkers(t *testing.T) {
	doc := "# Title\n\nintro\n" + readmeBegin + "\nold table\n" + readmeEnd + "\nafter\n"
	got, err := replaceBetween([]byte(doc), "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nintro\n" + readmeBegin + "\nnew table\n" + readmeEnd + "\nafter\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Running it again changes nothing.
	again, _ := replaceBetween(got, "new table\n")
	if string(again) != want {
		t.Errorf("second replacement gave\n%s", again)
	}
	if _, err := replaceBetween([]byte("no markers\n"), "x"); err == nil {
		t.Error("a README without markers was accepted")
	}
}
