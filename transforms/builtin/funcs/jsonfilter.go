package funcs

import (
	"errors"
	"regexp"
	"strings"

	"github.com/skiffstream/skiff/transforms/jolt"
	"github.com/skiffstream/skiff/transforms/sdk"
)

// JSONFilter is the json-filter module, a filter: it keeps the records
// whose value is a JSON document with a field that matches.
//
// Parameters:
//   - field: the field, as a dot path ("user.country", "items.0.sku";
//     numbers index arrays). Required.
//   - equals: keep when the field's value, as text, is this: a string
//     compares unquoted ("DE"), a number as written ("42"), true, false
//     and null as those words, an object or array as compact JSON.
//   - regex: keep when that text matches this expression (Go RE2 syntax,
//     anywhere in the text unless anchored).
//   - exists: true keeps the records that have the field (null counts),
//     false those that lack it.
//
// Give field and exactly one of equals, regex and exists.
//
// A record without the field is dropped (kept with exists=false); so is a
// null value (a tombstone). A value that is not JSON fails its record, for
// the deployment's error policy to handle.
func JSONFilter(params map[string]string) (Module, error) {
	if err := check(params, "field", "equals", "regex", "exists"); err != nil {
		return Module{}, err
	}
	field := params["field"]
	if field == "" {
		return Module{}, errors.New("the `field` parameter is required: a dot path such as user.country")
	}
	if strings.HasPrefix(field, ".") || strings.HasSuffix(field, ".") || strings.Contains(field, "..") {
		return Module{}, errors.New("parameter field is \"" + field + "\": use names separated by single dots, such as user.country")
	}
	var tests []string
	for _, name := range []string{"equals", "regex", "exists"} {
		if _, ok := params[name]; ok {
			tests = append(tests, name)
		}
	}
	switch len(tests) {
	case 0:
		return Module{}, errors.New("give one of the parameters equals, regex or exists to say what the field must be")
	case 1:
	default:
		return Module{}, errors.New("give only one of the parameters equals, regex or exists (got " + strings.Join(tests, " and ") + ")")
	}
	var match func(v jolt.Value, found bool) bool
	switch tests[0] {
	case "equals":
		want := params["equals"]
		match = func(v jolt.Value, found bool) bool { return found && v.Text() == want }
	case "regex":
		re, err := regexp.Compile(params["regex"])
		if err != nil {
			return Module{}, errors.New("parameter regex: " + err.Error())
		}
		match = func(v jolt.Value, found bool) bool { return found && re.MatchString(v.Text()) }
	case "exists":
		want, err := boolParam(params, "exists", true)
		if err != nil {
			return Module{}, err
		}
		match = func(_ jolt.Value, found bool) bool { return found == want }
	}
	// The parser reuses its memory from record to record: a document's
	// values live only during the call.
	var parser jolt.Parser
	return Module{Kind: "filter", Filter: func(r sdk.Record) (bool, error) {
		if r.Value == nil {
			return match(jolt.Value{}, false), nil
		}
		doc, err := parser.Parse(r.Value)
		if err != nil {
			return false, errors.New("json-filter: the record value is not JSON: " + err.Error())
		}
		v, found := doc.Lookup(field)
		return match(v, found), nil
	}}, nil
}
