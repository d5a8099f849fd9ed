package funcs

import (
	"errors"
	"regexp"

	"github.com/skiffstream/skiff/transforms/sdk"
)

// RegexFilter is the regex-filter module, a filter: it keeps the records
// whose value (or key) matches a regular expression.
//
// Parameters:
//   - regex: the expression, in Go's RE2 syntax (required). It matches
//     anywhere in the bytes; anchor it with ^ and $ to match all of them.
//   - field: value (the default) or key. A null key or value is empty.
//   - invert: true keeps the records that do not match (default false).
func RegexFilter(params map[string]string) (Module, error) {
	if err := check(params, "regex", "field", "invert"); err != nil {
		return Module{}, err
	}
	expr, ok := params["regex"]
	if !ok {
		return Module{}, errors.New("the `regex` parameter is required (Go RE2 syntax)")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return Module{}, errors.New("parameter regex: " + err.Error())
	}
	invert, err := boolParam(params, "invert", false)
	if err != nil {
		return Module{}, err
	}
	m := Module{Kind: "filter"}
	switch field := params["field"]; field {
	case "", "value":
		m.Filter = func(r sdk.Record) (bool, error) { return re.Match(r.Value) != invert, nil }
	case "key":
		m.Filter = func(r sdk.Record) (bool, error) { return re.Match(r.Key) != invert, nil }
	default:
		return Module{}, errors.New("parameter field is \"" + field + "\": use value or key")
	}
	return m, nil
}
