package chain_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiffstream/skiff/transforms/chain"
)

// fluvioJolt is the transforms.yml of Fluvio's jolt documentation (the
// http-source connector's example), with a second step from its cat-facts
// example.
const fluvioJolt = `
transforms:
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec:
            fact: "animal.fact"
            length: "length"
        - operation: default
          spec:
            source: "http"
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec:
            quote: ""
`

func TestChainParseSpecFluvioJolt(t *testing.T) {
	spec, err := chain.ParseSpec([]byte(fluvioJolt))
	if err != nil {
		t.Fatal(err)
	}
	want := &chain.Spec{Steps: []chain.Step{
		{Uses: "infinyon/jolt@0.4.1", With: map[string]string{
			"spec": `[{"operation":"shift","spec":{"fact":"animal.fact","length":"length"}},{"operation":"default","spec":{"source":"http"}}]`,
		}},
		{Uses: "infinyon/jolt@0.4.1", With: map[string]string{
			"spec": `[{"operation":"shift","spec":{"quote":""}}]`,
		}},
	}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("got %#v\nwant %#v", spec, want)
	}
	if spec.Lookback() != nil {
		t.Errorf("lookback %+v, want none", spec.Lookback())
	}
}

// TestChainParseSpecParams: scalars are the strings written, nested values
// JSON with their YAML types and key order.
func TestChainParseSpecParams(t *testing.T) {
	spec, err := chain.ParseSpec([]byte(`
transforms:
  - uses: my-module
    with:
      regex: ^ERROR [a-z]+$
      count: 0012
      ratio: 1.50
      flag: yes
      quoted: "42"
      empty: ""
      nothing:
      tilde: ~
      block: |
        line one
        line two
      anchored: &shared {b: 2, a: 1}
      again: *shared
      list: [1, -2.5, true, null, "x", 2001-12-14, "&(1)", a<b>c]
      nested:
        z: {y: [], x: {}}
        a: 0x1F
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"regex":    "^ERROR [a-z]+$",
		"count":    "0012",
		"ratio":    "1.50",
		"flag":     "yes",
		"quoted":   "42",
		"empty":    "",
		"nothing":  "",
		"tilde":    "",
		"block":    "line one\nline two\n",
		"anchored": `{"b":2,"a":1}`,
		"again":    `{"b":2,"a":1}`,
		"list":     `[1,-2.5,true,null,"x","2001-12-14","&(1)","a<b>c"]`,
		"nested":   `{"z":{"y":[],"x":{}},"a":31}`,
	}
	got := spec.Steps[0].With
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d parameters, want %d: %q", len(got), len(want), got)
	}

	// A step without `with:` has no parameters, not a nil map.
	spec, err = chain.ParseSpec([]byte("transforms:\n  - uses: a\n  - uses: b\n    with:\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range spec.Steps {
		if st.With == nil || len(st.With) != 0 {
			t.Errorf("step %d with %#v", i, st.With)
		}
	}
}

func TestChainParseSpecErrors(t *testing.T) {
	cases := []struct {
		yml  string
		want string // in the error
	}{
		{"", "the file is empty"},
		{"transforms: [", "yaml: line 1"},
		{"- uses: a", "expected a mapping with a `transforms:` list"},
		{"steps:\n  - uses: a", `line 1: unknown key "steps"`},
		{"transforms: a", "`transforms` must be a list"},
		{"transforms: []", "`transforms` is empty"},
		{"transforms:\n  - with: {a: 1}", "line 2: the step has no `uses:`"},
		{"transforms:\n  - uses: a\n  - use: b", `line 3: unknown step key "use"; a step has`},
		{"transforms:\n  - uses: [a]", "`uses` must name a module"},
		{"transforms:\n  - uses:\n", "`uses` must name a module"},
		{"transforms:\n  - uses: a\n    with: [x]", "line 3: `with` must be a mapping"},
		{"transforms:\n  - uses: a\n    with:\n      a=b: 1", `line 4: parameter name "a=b"`},
		{"transforms:\n  - uses: a\n    with:\n      REDPANDA_INPUT_TOPIC: x", "is reserved"},
		{"transforms:\n  - uses: a\n    with:\n      SKIFF_SDK_DESCRIBE: x", "is reserved"},
		{"transforms:\n  - uses: a\n    with:\n      x: 1\n      x: 2", `line 5: key "x" appears twice`},
		{"transforms:\n  - uses: a\n    with:\n      x: {y: .inf}", "has no JSON form"},
		{"transforms:\n  - uses: a\n    with:\n      x: {[1]: 2}", "a key must be a plain name"},
		{"transforms:\n  - uses: a\n    with:\n      base: &b {y: 1}\n      x: {<<: *b}", "merge keys"},
		{"transforms:\n  - uses: a\n    lookback: 5", "`lookback` must be a mapping"},
		{"transforms:\n  - uses: a\n    lookback: {}", "lookback bounds nothing"},
		{"transforms:\n  - uses: a\n    lookback: {last: -1}", "a count of records"},
		{"transforms:\n  - uses: a\n    lookback: {age: 5 parsecs}", `unknown unit "parsecs"`},
		{"transforms:\n  - uses: a\n    lookback: {first: 5}", `unknown lookback key "first"`},
		{"transforms:\n  - uses: a\n---\ntransforms:\n  - uses: b", "line 3: a second YAML document"},
	}
	for _, c := range cases {
		_, err := chain.ParseSpec([]byte(c.yml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.yml, err, c.want)
		}
	}
}

func TestChainParseSpecLookback(t *testing.T) {
	spec, err := chain.ParseSpec([]byte(`
transforms:
  - uses: a
    lookback: {last: 100}
  - uses: b
  - uses: c
    lookback:
      last: 10
      age: 1w
`))
	if err != nil {
		t.Fatal(err)
	}
	if lb := spec.Steps[0].Lookback; lb == nil || *lb != (chain.Lookback{Last: 100}) {
		t.Errorf("step 1 lookback %+v", lb)
	}
	if spec.Steps[1].Lookback != nil {
		t.Errorf("step 2 lookback %+v", spec.Steps[1].Lookback)
	}
	if lb := spec.Steps[2].Lookback; lb == nil || *lb != (chain.Lookback{Last: 10, Age: 7 * 24 * time.Hour}) {
		t.Errorf("step 3 lookback %+v", lb)
	}
	// The chain's: 100 records (the larger count), of any age (step 1
	// does not bound the age).
	if lb := spec.Lookback(); lb == nil || *lb != (chain.Lookback{Last: 100}) {
		t.Errorf("chain lookback %+v", lb)
	}
	two := &chain.Spec{Steps: []chain.Step{
		{Uses: "a", Lookback: &chain.Lookback{Last: 5, Age: time.Hour}},
		{Uses: "b", Lookback: &chain.Lookback{Last: 7, Age: time.Minute}},
	}}
	if lb := two.Lookback(); *lb != (chain.Lookback{Last: 7, Age: time.Hour}) {
		t.Errorf("combined lookback %+v", lb)
	}
	if *two.Steps[0].Lookback != (chain.Lookback{Last: 5, Age: time.Hour}) {
		t.Errorf("Lookback changed a step's: %+v", two.Steps[0].Lookback)
	}
}

func TestChainParseHumanDuration(t *testing.T) {
	day := 24 * time.Hour
	good := map[string]time.Duration{
		"1w":              7 * day,
		"90s":             90 * time.Second,
		"1h 30m":          90 * time.Minute,
		"1h30m":           90 * time.Minute,
		"2days 4hours":    2*day + 4*time.Hour,
		"15 min":          15 * time.Minute,
		"1M":              2_630_016 * time.Second,
		"1y":              31_557_600 * time.Second,
		"250ms 10us 5ns":  250*time.Millisecond + 10*time.Microsecond + 5,
		" 3d ":            3 * day,
		"0s":              0,
		"1week 1day 1sec": 8*day + time.Second,
	}
	for s, want := range good {
		got, err := chain.ParseHumanDuration(s)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	bad := map[string]string{
		"":                       "empty duration",
		"5":                      "needs a unit",
		"w":                      "expected a number",
		"1.5h":                   "use whole numbers",
		"-1h":                    "expected a number",
		"3 fortnights":           "unknown unit",
		"999999999999999999999y": "too long",
		"300y":                   "too long",
	}
	for s, want := range bad {
		if _, err := chain.ParseHumanDuration(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", s, err, want)
		}
	}
}

func TestChainParsePolicy(t *testing.T) {
	good := map[string]chain.Policy{
		"":                     {Action: chain.Fail},
		"fail":                 {Action: chain.Fail},
		"skip":                 {Action: chain.Skip},
		"dead-letter:bad.ones": {Action: chain.DeadLetter, Topic: "bad.ones"},
	}
	for s, want := range good {
		p, err := chain.ParsePolicy(s)
		if err != nil || p != want {
			t.Errorf("%q: %+v, %v; want %+v", s, p, err, want)
		}
		if s != "" {
			if p.String() != s {
				t.Errorf("%+v.String() = %q, want %q", p, p.String(), s)
			}
		}
	}
	if (chain.Policy{}).String() != "fail" {
		t.Errorf("the zero policy is %q", chain.Policy{}.String())
	}
	bad := map[string]string{
		"Skip":            "use fail, skip or dead-letter:TOPIC",
		"dead-letter":     "use fail, skip or dead-letter:TOPIC",
		"dead-letter:":    "no topic name",
		"dead-letter:a b": "only ASCII letters",
		"dead-letter:..":  "not a valid topic name",
		"dead-letter:" + strings.Repeat("x", 250): "the limit is 249",
	}
	for s, want := range bad {
		if _, err := chain.ParsePolicy(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", s, err, want)
		}
	}
}

func TestChainSingleStep(t *testing.T) {
	params := map[string]string{"regex": "^E"}
	spec := chain.SingleStep("regex-filter", params)
	params["regex"] = "changed"
	want := &chain.Spec{Steps: []chain.Step{{Uses: "regex-filter", With: map[string]string{"regex": "^E"}}}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("got %#v", spec)
	}
	if spec := chain.SingleStep("m", nil); spec.Steps[0].With == nil {
		t.Error("SingleStep with nil parameters has a nil With; steps always have a map")
	}
}

func ExampleParseSpec() {
	spec, err := chain.ParseSpec([]byte(`
transforms:
  - uses: regex-filter
    with: {regex: "^ERROR"}
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec: {msg: "message"}
    lookback: {last: 100, age: 1d}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range spec.Steps {
		fmt.Println(st.Uses, st.With)
	}
	fmt.Printf("%+v\n", *spec.Lookback())
	// Output:
	// regex-filter map[regex:^ERROR]
	// infinyon/jolt@0.4.1 map[spec:[{"operation":"shift","spec":{"msg":"message"}}]]
	// {Last:100 Age:24h0m0s}
}

func ExampleParsePolicy() {
	p, err := chain.ParsePolicy("dead-letter:bad-records")
	fmt.Println(p.Action == chain.DeadLetter, p.Topic, p, err)
	_, err = chain.ParsePolicy("retry")
	fmt.Println(err)
	// Output:
	// true bad-records dead-letter:bad-records <nil>
	// error policy "retry": use fail, skip or dead-letter:TOPIC
}
