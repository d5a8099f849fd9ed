package main

import (
	"fmt"
	"io"
)

func runBench(args []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "skiff bench: not built yet")
	return 1
}
