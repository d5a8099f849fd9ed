// Command json-projection is a map SmartModule: each record's value, a JSON
// object, becomes an object holding only the top-level fields named in the
// `fields` parameter (comma-separated). Fields the input lacks are left
// out; a value that is not a JSON object is an error.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	list, _ := sdk.Param("fields")
	var fields []string
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		os.Stderr.WriteString("json-projection: the `fields` parameter (comma-separated names) is required\n")
		os.Exit(1)
	}
	sdk.Map(func(r sdk.Record) (sdk.Record, error) {
		var in map[string]json.RawMessage
		if err := json.Unmarshal(r.Value, &in); err != nil {
			return r, fmt.Errorf("value is not a JSON object: %w", err)
		}
		out := make(map[string]json.RawMessage, len(fields))
		for _, f := range fields {
			if v, ok := in[f]; ok {
				out[f] = v
			}
		}
		value, err := json.Marshal(out)
		if err != nil {
			return r, err
		}
		r.Value = value
		return r, nil
	})
}
