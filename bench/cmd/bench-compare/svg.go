package main

import (
	"fmt"
	"math"
	"strings"
)

// The chart: one panel per group of figures (produce throughput, consume
// throughput, produce latency), one row per figure, one horizontal bar per
// broker. Each panel has its own linear scale starting at zero, so bar
// lengths compare within a panel. Written by hand: SVG is text, and a
// plotting library would be a dependency for one picture.
const (
	chartWidth  = 960
	labelWidth  = 400 // the figure names, left of the bars
	valueWidth  = 110 // room for the value after the longest bar
	barHeight   = 9
	barGap      = 2
	rowGap      = 8
	panelHeader = 34
	chartTop    = 56
)

var brokerColour = map[string]string{"skiff": "#2a7ab9", "kafka": "#d1495b", "kfake": "#8d8d8d"}

var brokerTitle = map[string]string{"skiff": "Skiff", "kafka": "Apache Kafka", "kfake": "kfake"}

type panel struct {
	title string
	group string
	// value picks what a bar shows and its text.
	value func(f *figure, broker string) (float64, string)
}

func chart(rep *report) string {
	mb := func(f *figure, b string) (float64, string) {
		v := f.MBPerSec[b]
		return v, fmt.Sprintf("%.0f MB/s", v)
	}
	ms := func(f *figure, b string) (float64, string) {
		v, ok := f.Values[b]
		if !ok {
			return 0, ""
		}
		return v, msText(v)
	}
	panels := []panel{
		{"Produce throughput (MB/s of record values; longer is better)", "produce", mb},
		{"Consume throughput (MB/s of record values; longer is better)", "consume", mb},
		{"Produce latency" + latencySetting(rep) + " (ms; shorter is better)", "latency", ms},
	}

	var body strings.Builder
	y := chartTop
	for _, p := range panels {
		var figs []*figure
		for _, f := range rep.Figures {
			if f.Group == p.group {
				figs = append(figs, f)
			}
		}
		if len(figs) == 0 {
			continue
		}
		y = drawPanel(&body, p, figs, y)
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, y+30, chartWidth, y+30)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="16" font-weight="bold">%s</text>`+"\n",
		esc("Skiff vs Apache Kafka vs kfake (make bench-compare)"))
	// Legend.
	x := 10
	for _, br := range brokers {
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n",
			x, brokerColour[br], x+16, esc(brokerTitle[br]))
		x += 130
	}
	b.WriteString(body.String())
	fmt.Fprintf(&b, `<text x="10" y="%d" font-size="10" fill="#555">%s</text>`+"\n", y+16, esc(machineShort(rep)))
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanel draws one panel from y and returns the y below it.
func drawPanel(b *strings.Builder, p panel, figs []*figure, y int) int {
	scale := 0.0
	for _, f := range figs {
		for _, br := range brokers {
			v, _ := p.value(f, br)
			scale = math.Max(scale, v)
		}
	}
	if scale == 0 {
		scale = 1
	}
	barSpace := float64(chartWidth - labelWidth - valueWidth - 10)
	rowHeight := len(brokers)*(barHeight+barGap) + rowGap

	fmt.Fprintf(b, `<text x="10" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", y+22, esc(p.title))
	y += panelHeader
	for i, f := range figs {
		if i%2 == 0 {
			fmt.Fprintf(b, `<rect x="0" y="%d" width="%d" height="%d" fill="#f4f4f4"/>`+"\n",
				y-rowGap/2, chartWidth, rowHeight)
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
			labelWidth-8, y+rowHeight/2, esc(shortLabel(f)))
		for j, br := range brokers {
			v, text := p.value(f, br)
			if text == "" {
				continue
			}
			by := y + j*(barHeight+barGap)
			w := math.Max(1, v/scale*barSpace)
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
				labelWidth, by, w, barHeight, brokerColour[br], esc(brokerTitle[br]+": "+text))
			fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="9">%s</text>`+"\n",
				float64(labelWidth)+w+4, by+barHeight-1, esc(text))
		}
		y += rowHeight
	}
	return y + 6
}

// latencySetting is the " at N rec/s (...)" part of the latency figures'
// labels, which the latency panel's title carries for all its rows.
func latencySetting(rep *report) string {
	for _, f := range rep.Figures {
		if f.Group == "latency" {
			if i := strings.Index(f.Label, " at "); i >= 0 {
				return f.Label[i:]
			}
		}
	}
	return ""
}

// shortLabel fits a figure's label beside its bars.
func shortLabel(f *figure) string {
	l := f.Label
	if f.Group == "latency" {
		l, _, _ = strings.Cut(l, " at ")
	}
	l = strings.NewReplacer(" produce latency ", " ", " produce,", ",", " consume,", ",").Replace(l)
	if r := []rune(l); len(r) > 60 {
		l = string(r[:59]) + "…"
	}
	return l
}

func machineShort(rep *report) string {
	m := rep.Machine
	return fmt.Sprintf("%s cores, %s, Linux %s, %s, commit %s. Absolute numbers are from this machine only.",
		m["nproc"], m["cpu"], m["kernel"], m["date"], m["commit"])
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
