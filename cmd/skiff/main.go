// Command skiff is the Skiff broker and its command-line client in one static
// binary: `skiff server` runs a node; every other subcommand talks to a running
// cluster over the Kafka protocol.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one subcommand. run returns the process exit code.
type command struct {
	name, summary string
	run           func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"server", "run a Skiff node (defaults: 127.0.0.1:9092, data in ./skiff-data)", runServer},
		{"topic", "create, list, describe and delete topics", runTopic},
		{"produce", "write records from stdin or a file to a topic", runProduce},
		{"consume", "read records from a topic", runConsume},
		{"group", "list, describe, delete consumer groups and reset their offsets", runGroup},
		{"smartmodule", "store, list, describe, delete and test WebAssembly SmartModules", runSmartModule},
		{"transform", "deploy SmartModules from topic to topic; list, describe, pause, resume, delete them", runTransform},
		{"version", "print the version", func(_ []string, _ io.Reader, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "skiff", version)
			return 0
		}},
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "skiff: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Skiff: a Kafka-compatible streaming broker with WebAssembly SmartModules.")
	fmt.Fprintln(w, "\nUsage: skiff COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `skiff COMMAND -h` for the flags of a command.")
}
