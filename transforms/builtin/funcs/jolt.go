package funcs

import (
	"errors"
	"strings"

	"github.com/skiffstream/skiff/transforms/jolt"
	"github.com/skiffstream/skiff/transforms/sdk"
)

// Jolt is the jolt module, a map: each record's value, a JSON document,
// becomes what the jolt spec in the `spec` parameter makes of it (see
// transforms/jolt). A transforms.yml written for Fluvio's infinyon/jolt
// works unchanged:
//
//	transforms:
//	  - uses: infinyon/jolt@0.4.1
//	    with:
//	      spec:
//	        - operation: shift
//	          spec:
//	            quote: ""
//
// The key and headers pass through. A value that is not JSON, or that the
// spec cannot transform (two values written to one place), fails its
// record. A null value (a tombstone) passes through unchanged.
//
// The value Map returns lives until the next call.
func Jolt(params map[string]string) (Module, error) {
	if err := check(params, "spec"); err != nil {
		return Module{}, err
	}
	spec, ok := params["spec"]
	if !ok {
		return Module{}, errors.New("the `spec` parameter is required: a list of operations, in transforms.yml `with: spec:` holding the list of Fluvio's jolt docs")
	}
	if trimmed := strings.TrimSpace(spec); !strings.HasPrefix(trimmed, "[") && !strings.HasPrefix(trimmed, "{") {
		return Module{}, errors.New("the `spec` parameter is not a JSON list of operations: in transforms.yml put the list under `with: spec:` (it reaches the module as JSON); with --var or --params give JSON text, like [{\"operation\":\"shift\",\"spec\":{\"quote\":\"\"}}]")
	}
	t, err := jolt.Parse([]byte(spec))
	if err != nil {
		return Module{}, err
	}
	var out []byte
	return Module{Kind: "map", Map: func(r sdk.Record) (sdk.Record, error) {
		if r.Value == nil {
			return r, nil
		}
		v, err := t.AppendApply(out[:0], r.Value)
		if err != nil {
			var se *jolt.SyntaxError
			if errors.As(err, &se) {
				return r, errors.New("jolt: the record value is not JSON: " + err.Error())
			}
			return r, errors.New("jolt: " + err.Error())
		}
		out = v
		r.Value = out
		return r, nil
	}}, nil
}
