// Command hostile is a test module that misbehaves on demand, by record
// value, and echoes other records:
//
//	spin    loops forever               bomb   allocates until memory runs out
//	panic   panics                      error  returns an error
//	nope    writes to "nope", not an output topic
//	log     prints a line to stdout and one to stderr
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/skiffstream/skiff/transforms/sdk"
)

var (
	sink  int
	hoard [][]byte
)

func main() {
	sdk.Process(func(r sdk.Record, w *sdk.Writer) error {
		switch string(r.Value) {
		case "spin":
			for i := 0; ; i++ {
				sink += i
			}
		case "bomb":
			for {
				hoard = append(hoard, make([]byte, 1<<20))
			}
		case "panic":
			panic("hostile module panics on purpose")
		case "error":
			return errors.New("hostile module fails on purpose")
		case "nope":
			return w.WriteTo("nope", r)
		case "log":
			fmt.Println("hello on stdout")
			fmt.Fprintln(os.Stderr, "hello on stderr")
		}
		return w.Write(r)
	})
}
