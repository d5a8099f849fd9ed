// Command regex-filter is the built-in regex-filter SmartModule, a filter:
// it keeps the records whose value (or key) matches a regular expression.
//
// Parameters:
//   - regex: the expression, in Go's RE2 syntax (required). It matches
//     anywhere in the bytes; anchor it with ^ and $ to match all of them.
//   - field: value (the default) or key. A null key or value is empty.
//   - invert: true keeps the records that do not match (default false).
package main

import (
	"errors"
	"regexp"

	"github.com/skiffstream/skiff/transforms/builtin/internal/modinit"
	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	keep, err := newFilter()
	if err != nil {
		modinit.Fail("regex-filter", err)
	}
	sdk.Filter(keep)
}

func newFilter() (func(sdk.Record) (bool, error), error) {
	params, err := modinit.Check("regex", "field", "invert")
	if err != nil {
		return nil, err
	}
	expr, ok := params["regex"]
	if !ok {
		return nil, errors.New("the `regex` parameter is required (Go RE2 syntax)")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, errors.New("parameter regex: " + err.Error())
	}
	invert, err := modinit.Bool(params, "invert", false)
	if err != nil {
		return nil, err
	}
	switch field := params["field"]; field {
	case "", "value":
		return func(r sdk.Record) (bool, error) { return re.Match(r.Value) != invert, nil }, nil
	case "key":
		return func(r sdk.Record) (bool, error) { return re.Match(r.Key) != invert, nil }, nil
	default:
		return nil, errors.New("parameter field is \"" + field + "\": use value or key")
	}
}
