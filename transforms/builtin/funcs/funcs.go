// Package funcs holds the record functions of the built-in modules, made
// from their parameters. The same Go code is built two ways: into the
// modules' WebAssembly (the mains under transforms/builtin, through the
// SDK), and into the broker, which runs a built-in natively (see
// builtin.NewNative) because it ships inside the binary and needs no
// sandbox. Keeping one source for both is what makes the two give the same
// records and the same errors.
package funcs

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/skiffstream/skiff/transforms/sdk"
)

// Module is a built-in module made from its parameters: its kind, as the
// SDK's describe probe names it, and its record function, Filter for a
// filter and Map for a map. The function may keep buffers from call to
// call: it is for one goroutine at a time.
type Module struct {
	Kind   string
	Filter func(sdk.Record) (bool, error)
	Map    func(sdk.Record) (sdk.Record, error)
}

// New makes the built-in module name ("jolt", "json-filter" or
// "regex-filter") from its parameters. Its errors say which parameter is
// wrong and what to give instead.
func New(name string, params map[string]string) (Module, error) {
	switch name {
	case "jolt":
		return Jolt(params)
	case "json-filter":
		return JSONFilter(params)
	case "regex-filter":
		return RegexFilter(params)
	}
	return Module{}, errors.New("no built-in module " + strconv.Quote(name))
}

// check returns an error naming the first parameter the module does not
// take, so that a misspelt parameter fails the deployment rather than
// being ignored. Variables the host sets (SKIFF_*) are not parameters.
func check(params map[string]string, known ...string) error {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) && !strings.HasPrefix(name, "SKIFF_") {
			return errors.New("unknown parameter " + strconv.Quote(name) + ": the parameters are " + strings.Join(known, ", "))
		}
	}
	return nil
}

// boolParam reads the boolean parameter name: true or false, def when
// unset.
func boolParam(params map[string]string, name string, def bool) (bool, error) {
	s, ok := params[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("parameter " + name + " is " + strconv.Quote(s) + ": use true or false")
}
