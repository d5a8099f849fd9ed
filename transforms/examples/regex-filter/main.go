// Command regex-filter is a filter SmartModule: it keeps the records whose
// value matches the regular expression in the `regex` parameter (Go RE2
// syntax) and drops the others.
package main

import (
	"os"
	"regexp"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	expr, ok := sdk.Param("regex")
	if !ok {
		os.Stderr.WriteString("regex-filter: the `regex` parameter is required\n")
		os.Exit(1)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		os.Stderr.WriteString("regex-filter: parameter regex: " + err.Error() + "\n")
		os.Exit(1)
	}
	sdk.Filter(func(r sdk.Record) (bool, error) {
		return re.Match(r.Value), nil
	})
}
