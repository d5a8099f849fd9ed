package builtin_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/transforms/engine"
)

// The built-in modules run here through the engine as a deployment runs
// them: Load, NewRunner with the parameters, ProcessBatch.

// joltDocSpec is the `with: spec:` of Fluvio's jolt documentation, as the
// transforms.yml loader hands a nested list over: JSON text.
const joltDocSpec = `[{"operation":"shift","spec":{"id":"data.id","name":"data.name","account":"data.account"}},` +
	`{"operation":"default","spec":{"data":{"source":"http-connector"}}},` +
	`{"operation":"remove","spec":{"data":{"account":""}}}]`

func TestBuiltinJolt(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	r, err := start(t, e, "infinyon/jolt@0.4.1", map[string]string{"spec": joltDocSpec})
	if err != nil {
		t.Fatal(err)
	}
	in := batch(
		rec("k0", `{"id": 1, "name": "John Smith", "account": {"id": 1000, "type": "Checking"}}`),
		rec("k1", `{"id": 2, "extra": true}`),
		record{key: nil, value: nil}, // a tombstone passes through
	)
	outs, err := r.ProcessBatch(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"data":{"id":1,"name":"John Smith","source":"http-connector"}}`, `{"data":{"id":2,"source":"http-connector"}}`, "<null>"}
	if got := values(t, in, outs); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	// The quote example of transforms.yml: a field becomes the whole value.
	rq, err := start(t, e, "jolt", map[string]string{"spec": `[{"operation":"shift","spec":{"quote":""}}]`})
	if err != nil {
		t.Fatal(err)
	}
	in = batch(rec("q", `{"quote":"Talk is cheap. Show me the code.","by":"Linus Torvalds"}`))
	if outs, err = rq.ProcessBatch(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got := values(t, in, outs); !reflect.DeepEqual(got, []string{`"Talk is cheap. Show me the code."`}) {
		t.Fatalf("quote: got %q", got)
	}

	// A value that is not JSON fails its record, with the module's words;
	// the records before it come out; the next batch runs.
	in = batch(rec("a", `{"id": 3}`), rec("b", `{"id": 4`), rec("c", `{"id": 5}`))
	outs, err = r.ProcessBatch(ctx, in)
	var be *engine.BatchError
	if !errors.As(err, &be) || be.Record != 1 || be.Offset != 1001 || !errors.Is(err, engine.ErrModuleFailed) ||
		!strings.Contains(err.Error(), "jolt: the record value is not JSON: invalid JSON at byte 8") {
		t.Fatalf("error %v, want record 1 failed as not JSON", err)
	}
	if got := values(t, in, outs); !reflect.DeepEqual(got, []string{`{"data":{"id":3,"source":"http-connector"}}`}) {
		t.Fatalf("outputs before the failure: %q", got)
	}

	// So does a document the spec cannot transform.
	r2, err := start(t, e, "jolt", map[string]string{"spec": `[{"operation":"shift","spec":{"*":"same"}}]`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = r2.ProcessBatch(ctx, batch(rec("a", `{"x":1}`), rec("b", `{"x":1,"y":2}`))); !errors.As(err, &be) || be.Record != 1 ||
		!strings.Contains(err.Error(), `shift to "same": cannot write at "same": a value is already there`) {
		t.Fatalf("two writes to one place: %v", err)
	}
}

func TestBuiltinRegexFilter(t *testing.T) {
	e, _ := newEngine(t)
	in := batch(rec("user-1", "ERROR disk full"), rec("sys", "INFO ok"), rec("user-2", "warn: ERROR later"), record{key: nil, value: nil})
	for _, c := range []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{"regex": "^ERROR"}, []string{"ERROR disk full"}},
		{map[string]string{"regex": "ERROR"}, []string{"ERROR disk full", "warn: ERROR later"}},
		{map[string]string{"regex": "ERROR", "invert": "true"}, []string{"INFO ok", "<null>"}},
		{map[string]string{"regex": "^$", "field": "value"}, []string{"<null>"}},
		{map[string]string{"regex": `^user-\d+$`, "field": "key"}, []string{"ERROR disk full", "warn: ERROR later"}},
		{map[string]string{"regex": "^user-", "field": "key", "invert": "TRUE"}, []string{"INFO ok", "<null>"}},
		{map[string]string{"regex": "(?i)info", "invert": "false"}, []string{"INFO ok"}},
	} {
		r, err := start(t, e, "regex-filter", c.params)
		if err != nil {
			t.Fatalf("%v: %v", c.params, err)
		}
		outs, err := r.ProcessBatch(context.Background(), in)
		if err != nil {
			t.Fatalf("%v: %v", c.params, err)
		}
		if got := values(t, in, outs); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: kept %q, want %q", c.params, got, c.want)
		}
	}
}

func TestBuiltinJSONFilter(t *testing.T) {
	e, _ := newEngine(t)
	in := batch(
		rec("0", `{"user": {"country": "DE", "age": 42, "vip": true}}`),
		rec("1", `{"user": {"country": "FR", "age": 42.0, "vip": false, "tags": ["a"]}}`),
		rec("2", `{"user": {"country": null}}`),
		rec("3", `{"other": 1}`),
		rec("4", `[{"user": {"country": "DE"}}]`),
		record{key: []byte("5"), value: nil},
	)
	for _, c := range []struct {
		params map[string]string
		want   []int // the inputs kept
	}{
		{map[string]string{"field": "user.country", "equals": "DE"}, []int{0}},
		{map[string]string{"field": "user.age", "equals": "42"}, []int{0}},
		{map[string]string{"field": "user.vip", "equals": "true"}, []int{0}},
		{map[string]string{"field": "user.country", "equals": "null"}, []int{2}},
		{map[string]string{"field": "user.tags", "equals": `["a"]`}, []int{1}},
		{map[string]string{"field": "0.user.country", "equals": "DE"}, []int{4}},
		{map[string]string{"field": "user.country", "regex": "^(DE|FR)$"}, []int{0, 1}},
		{map[string]string{"field": "user.age", "regex": `^\d+$`}, []int{0}},
		{map[string]string{"field": "user.country", "exists": "true"}, []int{0, 1, 2}},
		{map[string]string{"field": "user.country", "exists": "false"}, []int{3, 4, 5}},
		{map[string]string{"field": "user", "exists": "true"}, []int{0, 1, 2}},
	} {
		r, err := start(t, e, "json-filter", c.params)
		if err != nil {
			t.Fatalf("%v: %v", c.params, err)
		}
		outs, err := r.ProcessBatch(context.Background(), in)
		if err != nil {
			t.Fatalf("%v: %v", c.params, err)
		}
		var got []int
		for _, o := range outs {
			got = append(got, o.Input)
			if string(o.Record.Value) != string(in.Records[o.Input].Value) || string(o.Record.Key) != string(in.Records[o.Input].Key) {
				t.Errorf("%v: output %d is not its input unchanged", c.params, o.Input)
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: kept inputs %v, want %v", c.params, got, c.want)
		}
	}

	// A value that is not JSON fails its record.
	r, err := start(t, e, "json-filter", map[string]string{"field": "a", "exists": "true"})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := r.ProcessBatch(context.Background(), batch(rec("a", `{"a":1}`), rec("b", `plain text`)))
	var be *engine.BatchError
	if !errors.As(err, &be) || be.Record != 1 || !strings.Contains(err.Error(), "json-filter: the record value is not JSON: invalid JSON at byte 0") || len(outs) != 1 {
		t.Fatalf("not JSON: %d outputs, %v", len(outs), err)
	}
}

// TestBuiltinBadParams checks that a module with wrong parameters fails at
// NewRunner, saying what is wrong.
func TestBuiltinBadParams(t *testing.T) {
	e, _ := newEngine(t)
	for _, c := range []struct {
		module string
		params map[string]string
		msg    string
	}{
		{"jolt", nil, "jolt: the `spec` parameter is required"},
		{"jolt", map[string]string{"spec": `{"operation": "sort", "spec": {}}`}, `jolt: jolt spec: operation 1 (sort): operation "sort" is not supported`},
		{"jolt", map[string]string{"spec": `[{"operation": "shift", "spec": {"a": "&3"}}]`}, `reaches 3 levels up`},
		{"jolt", map[string]string{"spec": "- operation: shift"}, "jolt: the `spec` parameter is not a JSON list of operations"},
		{"jolt", map[string]string{"spec": `[{"operation": "shift", "spec": {"a": "b"}},]`}, "jolt: jolt spec: invalid JSON at byte 44: expected a value"},
		{"jolt", map[string]string{"spec": "[]", "sepc": "x"}, `jolt: unknown parameter "sepc": the parameters are spec`},
		{"regex-filter", nil, "regex-filter: the `regex` parameter is required"},
		{"regex-filter", map[string]string{"regex": "(a"}, "regex-filter: parameter regex: error parsing regexp: missing closing )"},
		{"regex-filter", map[string]string{"regex": "a", "field": "headers"}, `regex-filter: parameter field is "headers": use value or key`},
		{"regex-filter", map[string]string{"regex": "a", "invert": "yes"}, `regex-filter: parameter invert is "yes": use true or false`},
		{"json-filter", map[string]string{"equals": "x"}, "json-filter: the `field` parameter is required"},
		{"json-filter", map[string]string{"field": "a..b", "equals": "x"}, `json-filter: parameter field is "a..b"`},
		{"json-filter", map[string]string{"field": "a"}, "json-filter: give one of the parameters equals, regex or exists"},
		{"json-filter", map[string]string{"field": "a", "equals": "x", "regex": "y"}, "json-filter: give only one of the parameters equals, regex or exists (got equals and regex)"},
		{"json-filter", map[string]string{"field": "a", "regex": "*"}, "json-filter: parameter regex: error parsing regexp: missing argument to repetition operator"},
		{"json-filter", map[string]string{"field": "a", "exists": "maybe"}, `json-filter: parameter exists is "maybe": use true or false`},
	} {
		_, err := start(t, e, c.module, c.params)
		if !errors.Is(err, engine.ErrModuleFailed) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %v: NewRunner error %v, want the module failing with %q", c.module, c.params, err, c.msg)
		}
	}
}

// TestBuiltinDescribe runs each module under the SDK's describe probe:
// it prints its kind and exits, even without the parameters it needs.
func TestBuiltinDescribe(t *testing.T) {
	e, logs := newEngine(t)
	for name, kind := range map[string]string{"jolt": "map", "regex-filter": "filter", "json-filter": "filter"} {
		before := len(logs.all())
		_, err := start(t, e, name, map[string]string{"SKIFF_SDK_DESCRIBE": "1"})
		if !errors.Is(err, engine.ErrModuleExited) {
			t.Fatalf("%s under the probe: %v, want an exit with code 0", name, err)
		}
		lines := logs.all()[before:]
		if want := `{"skiff_sdk_kind":"` + kind + `"}`; !reflect.DeepEqual(lines, []string{want}) {
			t.Errorf("%s printed %q, want %q", name, lines, want)
		}
	}
}
