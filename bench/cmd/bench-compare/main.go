// Command bench-compare is the Go half of bench/compare.sh (`make
// bench-compare`), which measures Skiff, Apache Kafka and franz-go's kfake
// one after the other on this machine. The script starts and stops the
// brokers and runs the load tools; this command does what is easier to get
// right in Go:
//
//	bench-compare coldstart --addr A (--since EPOCHREALTIME | --pid-file F)
//	    polls A with ApiVersions (raw TCP, kmsg) until one is answered, then
//	    with Metadata, and prints the time of each from the process start
//	bench-compare perf --kind producer|consumer --broker-pid P -- CMD ARG...
//	    runs one of Kafka's perf tools (ProducerPerformance or
//	    ConsumerPerformance), parses its summary and prints it as one JSON
//	    line shaped like skiff-load's, with the CPU the broker, the tool and
//	    everybody else used meanwhile
//	bench-compare disturbed --limit CORES
//	    reads one such result (or skiff-load's) on stdin, prints the cores
//	    other processes used per phase, and exits 3 above the limit
//	bench-compare report --runs runs.jsonl --json J --md M --svg S [--readme R]
//	    turns every run into figures, medians and Skiff's ratio to each peer,
//	    checks the targets, and writes the JSON, the Markdown table, the SVG
//	    chart and the README section between its markers
package main

import (
	"fmt"
	"math"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "coldstart":
		err = coldStartMain(os.Args[2:])
	case "perf":
		err = perfMain(os.Args[2:])
	case "disturbed":
		os.Exit(disturbedMain(os.Args[2:]))
	case "report":
		err = reportMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench-compare %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench-compare coldstart|perf|disturbed|report [flags] (see the package doc)")
	os.Exit(2)
}

// roundTo rounds v to digits decimal places.
func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
