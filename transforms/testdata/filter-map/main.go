// Command filter-map is a test module of the filter-map kind: records with
// a key come out with their value upper-cased, records without one are
// dropped.
package main

import (
	"bytes"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	sdk.FilterMap(func(r sdk.Record) (sdk.Record, bool, error) {
		if r.Key == nil {
			return r, false, nil
		}
		r.Value = bytes.ToUpper(r.Value)
		return r, true, nil
	})
}
