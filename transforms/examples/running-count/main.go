// Command running-count is an aggregate SmartModule: the value of each
// output record is the number of records seen so far (as decimal text),
// starting after the optional `start` parameter. The count lives as long as
// the module instance.
package main

import (
	"os"
	"strconv"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	start := "0"
	if s, ok := sdk.Param("start"); ok {
		if _, err := strconv.ParseUint(s, 10, 64); err != nil {
			os.Stderr.WriteString("running-count: parameter start: not a count: " + s + "\n")
			os.Exit(1)
		}
		start = s
	}
	sdk.Aggregate([]byte(start), func(acc []byte, _ sdk.Record) ([]byte, error) {
		n, err := strconv.ParseUint(string(acc), 10, 64)
		if err != nil {
			return nil, err
		}
		return strconv.AppendUint(acc[:0], n+1, 10), nil
	})
}
