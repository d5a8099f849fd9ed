// Command word-split is an array-map SmartModule: each record becomes one
// record per whitespace-separated word of its value, with the input's key
// and headers. A record without words produces nothing.
package main

import (
	"bytes"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	var outs []sdk.Record
	sdk.ArrayMap(func(r sdk.Record) ([]sdk.Record, error) {
		outs = outs[:0]
		for _, word := range bytes.Fields(r.Value) {
			out := r
			out.Value = word
			outs = append(outs, out)
		}
		return outs, nil
	})
}
