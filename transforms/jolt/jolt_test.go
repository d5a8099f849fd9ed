package jolt

import (
	"strconv"
	"strings"
	"testing"
)

// joltCase runs spec over in: the output JSON text (member order matters)
// or an error containing errPart.
type joltCase struct {
	name    string
	spec    string
	in      string
	want    string
	errPart string
}

func runJoltCases(t *testing.T, cases []joltCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Parse([]byte(c.spec))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			in, err := ParseJSON([]byte(c.in))
			if err != nil {
				t.Fatalf("input: %v", err)
			}
			before := in.String()
			// Twice over the same parsed input: a transform must not
			// change its input, nor keep state between documents.
			for round := range 2 {
				out, err := tr.ApplyValue(in)
				if c.errPart != "" {
					if err == nil || !strings.Contains(err.Error(), c.errPart) {
						t.Fatalf("round %d: got %v, %v; want an error containing %q", round, out, err, c.errPart)
					}
					continue
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if got := out.String(); got != c.want {
					t.Fatalf("round %d:\n got %s\nwant %s", round, got, c.want)
				}
			}
			if after := in.String(); after != before {
				t.Fatalf("the input changed:\n%s\n%s", before, after)
			}
			// Apply on bytes gives the same as on values.
			if c.errPart == "" {
				out, err := tr.Apply([]byte(c.in))
				if err != nil || string(out) != c.want {
					t.Fatalf("Apply: %s, %v", out, err)
				}
			}
		})
	}
}

func shift(spec string) string { return `[{"operation":"shift","spec":` + spec + `}]` }

// TestJoltFluvioDocs runs the examples of Fluvio's jolt documentation
// (fluvio-jolt's README, the SmartModule hub page and the HTTP connector
// guides) as transforms.yml hands them over: the `spec:` list as JSON.
func TestJoltFluvioDocs(t *testing.T) {
	runJoltCases(t, []joltCase{{
		name: "fluvio-jolt README: shift, default, remove",
		spec: `[
			{"operation": "shift", "spec": {"id": "data.id", "name": "data.name", "account": "data.account"}},
			{"operation": "default", "spec": {"data": {"source": "http-connector"}}},
			{"operation": "remove", "spec": {"data": {"account": ""}}}
		]`,
		in:   `{"id": 1, "name": "John Smith", "account": {"id": 1000, "type": "Checking"}}`,
		want: `{"data":{"id":1,"name":"John Smith","source":"http-connector"}}`,
	}, {
		name: "transforms.yml: quote shifted to the root",
		spec: `[{"operation":"shift","spec":{"quote":""}}]`,
		in:   `{"quote": "Perfection is achieved when there is nothing left to take away.", "by": "Antoine de Saint-Exupery"}`,
		want: `"Perfection is achieved when there is nothing left to take away."`,
	}, {
		name: "transforms.yml: an object shifted to the root",
		spec: `[{"operation":"shift","spec":{"quote":""}}]`,
		in:   `{"id": 7, "quote": {"text": "Simplicity is prerequisite for reliability.", "author": "Edsger Dijkstra"}}`,
		want: `{"text":"Simplicity is prerequisite for reliability.","author":"Edsger Dijkstra"}`,
	}, {
		name: "http connector: cat facts",
		spec: `[
			{"operation": "shift", "spec": {"fact": "animal.fact", "length": "length"}},
			{"operation": "default", "spec": {"source": "http-connector"}}
		]`,
		in:   `{"fact": "A cat's hearing is better than a dog's.", "length": 39}`,
		want: `{"animal":{"fact":"A cat's hearing is better than a dog's."},"length":39,"source":"http-connector"}`,
	}, {
		name: "hub page: device payload",
		spec: `[
			{"operation": "shift", "spec": {"payload": {"device": "device"}}},
			{"operation": "default", "spec": {"device": {"type": "mobile"}}}
		]`,
		in:   `{"payload": {"device": {"device_id": 1, "name": "device1"}}}`,
		want: `{"device":{"device_id":1,"name":"device1","type":"mobile"}}`,
	}, {
		name: "every field under data",
		spec: shift(`{"*": "data.&0"}`),
		in:   `{"a": 1, "b": [true, null], "c": {"d": "e"}}`,
		want: `{"data":{"a":1,"b":[true,null],"c":{"d":"e"}}}`,
	}})
}

// TestJoltShift covers each feature of shift, most after the examples of
// Java Jolt's documentation that fluvio-jolt follows.
func TestJoltShift(t *testing.T) {
	rating := `{"rating": {"primary": {"value": 3, "max": 5}, "quality": {"value": 3, "max": 5}, "sharpness": {"value": 7, "max": 10}}}`
	runJoltCases(t, []joltCase{
		{name: "dot paths", spec: shift(`{"a": "x.y.z", "b": "x.w"}`), in: `{"b": 2, "a": 1, "c": 3}`,
			want: `{"x":{"w":2,"y":{"z":1}}}`},
		{name: "nested spec", spec: shift(`{"user": {"name": "n", "address": {"city": "c"}}}`),
			in: `{"user": {"name": "ann", "age": 3, "address": {"city": "Oslo", "zip": "0150"}}}`, want: `{"n":"ann","c":"Oslo"}`},
		{name: "unnamed input is dropped", spec: shift(`{"a": "a"}`), in: `{"b": 1}`, want: `{}`},
		{name: "nothing matched on a scalar", spec: shift(`{"a": "a"}`), in: `42`, want: `{}`},
		{name: "java jolt rating: *, &1, $ and literal before *",
			spec: shift(`{"rating": {"primary": {"value": "Rating", "max": "RatingRange"},
				"*": {"value": "SecondaryRatings.&1.Value", "max": "SecondaryRatings.&1.Range", "$": "SecondaryRatings.&.Id"}}}`),
			in:   rating,
			want: `{"Rating":3,"RatingRange":5,"SecondaryRatings":{"quality":{"Id":"quality","Value":3,"Range":5},"sharpness":{"Id":"sharpness","Value":7,"Range":10}}}`},
		{name: "&N, &(N) and &(N,0) are the same", spec: shift(`{"*": {"v": ["a.&1", "b.&(1)", "c.&(1,0)", "d.&(1, 0)"]}}`),
			in: `{"k": {"v": 1}}`, want: `{"a":{"k":1},"b":{"k":1},"c":{"k":1},"d":{"k":1}}`},
		{name: "& is the key matched here", spec: shift(`{"*": "out.&"}`), in: `{"x": 1}`, want: `{"out":{"x":1}}`},
		{name: "partial star and match groups", spec: shift(`{"rating-*": {"value": "ratings.&(1,1)"}}`),
			in: `{"rating-food": {"value": 4}, "rating-room": {"value": 2}, "other": {"value": 9}}`, want: `{"ratings":{"food":4,"room":2}}`},
		{name: "two stars", spec: shift(`{"*-*-*": "d.&(0,3).&(0,2).&(0,1)"}`), in: `{"2024-05-17": "x", "bad": "y"}`,
			want: `{"d":{"17":{"05":{"2024":"x"}}}}`},
		{name: "alternatives", spec: shift(`{"id|uid|user_id": "user.id", "name": "user.name"}`),
			in: `{"uid": 5, "name": "x"}`, want: `{"user":{"id":5,"name":"x"}}`},
		{name: "alternatives with stars", spec: shift(`{"tmp_*|temp_*": "t.&(0,1)"}`), in: `{"temp_a": 1, "tmp_b": 2}`,
			want: `{"t":{"a":1,"b":2}}`},
		{name: "literal before pattern, one pattern per key", spec: shift(`{"*": "rest.&", "a": "A", "a*": "starts.&"}`),
			in: `{"a": 1, "ab": 2, "b": 3}`, want: `{"A":1,"starts":{"ab":2},"rest":{"b":3}}`},
		{name: "more specific pattern first", spec: shift(`{"*": "other.&", "pre-*": "pref.&(0,1)"}`),
			in: `{"y": 2, "pre-x": 1}`, want: `{"other":{"y":2},"pref":{"x":1}}`},
		{name: "$ as value into an array", spec: shift(`{"*": {"$": "keys[]"}}`), in: `{"a": 1, "b": {"c": 2}}`,
			want: `{"keys":["a","b"]}`},
		{name: "$1 and $(1,1)", spec: shift(`{"user-*": {"*": {"$1": "&1.owner", "$(1,1)": "&1.id"}}}`),
			in: `{"user-7": {"car": {}}}`, want: `{"car":{"owner":"user-7","id":"7"}}`},
		{name: "@ copies the current value", spec: shift(`{"*": {"@": "copy.&", "n": "n.&1"}}`),
			in: `{"a": {"n": 1}, "b": 2}`, want: `{"copy":{"a":{"n":1},"b":2},"n":{"a":1}}`},
		{name: "@ at the top is the whole input", spec: shift(`{"@": "whole", "a": "a"}`), in: `{"a": 1}`,
			want: `{"whole":{"a":1},"a":1}`},
		{name: "@ with a nested spec", spec: shift(`{"@": {"a": "x"}}`), in: `{"a": 1}`, want: `{"x":1}`},
		{name: "@(N,path) on the left", spec: shift(`{"items": {"*": {"@(2,order.id)": "out[&1].order", "name": "out[&1].name"}}}`),
			in: `{"order": {"id": "o1"}, "items": [{"name": "x"}, {"name": "y"}]}`, want: `{"out":[{"order":"o1","name":"x"},{"order":"o1","name":"y"}]}`},
		{name: "@(N,path) missing writes nothing", spec: shift(`{"@(0,nope)": "x", "a": "a"}`), in: `{"a": 1}`, want: `{"a":1}`},
		{name: "@(N,path) in an output path", spec: shift(`{"*": {"value": "by-name.@(1,name)"}}`),
			in: `{"a": {"name": "x", "value": 1}, "b": {"name": 7, "value": 2}, "c": {"value": 3}}`, want: `{"by-name":{"x":1,"7":2}}`},
		{name: "# writes its text", spec: shift(`{"a": {"#yes": "flags.&1"}}`), in: `{"a": 0}`, want: `{"flags":{"a":"yes"}}`},
		{name: "arrays are walked by index", spec: shift(`{"photos": {"*": {"url": "images[&1].href", "id": "ids[]"}}}`),
			in: `{"photos": [{"url": "a", "id": 1}, {"url": "b", "id": 2}]}`, want: `{"images":[{"href":"a"},{"href":"b"}],"ids":[1,2]}`},
		{name: "literal index of an input array", spec: shift(`{"list": {"1": "second"}}`), in: `{"list": ["a", "b"]}`, want: `{"second":"b"}`},
		{name: "[] appends from several keys", spec: shift(`{"a": "l[]", "b": "l[]", "c": "l[]"}`), in: `{"c": 3, "a": 1, "b": [2]}`,
			want: `{"l":[3,1,[2]]}`},
		{name: "[N] pads with null", spec: shift(`{"a": "arr[2]", "b": "arr[0]"}`), in: `{"a": 1, "b": 2}`, want: `{"arr":[2,null,1]}`},
		{name: "root array", spec: shift(`{"*": "[]"}`), in: `{"x": 1, "y": 2}`, want: `[1,2]`},
		{name: "root array by index", spec: shift(`{"*": {"id": "[&1].id"}}`), in: `[{"id": 1}, {"id": 2}]`, want: `[{"id":1},{"id":2}]`},
		{name: "nested arrays", spec: shift(`{"m": {"*": {"*": "grid[&1][&0]"}}}`), in: `{"m": [[1, 2], [3]]}`, want: `{"grid":[[1,2],[3]]}`},
		{name: "several outputs", spec: shift(`{"a": ["x", "y.z"]}`), in: `{"a": 1}`, want: `{"x":1,"y":{"z":1}}`},
		{name: "composed key", spec: shift(`{"*": {"*": "&1-&0"}}`), in: `{"a": {"b": 1}}`, want: `{"a-b":1}`},
		{name: "escapes", spec: shift(`{"a\\*b": "x\\.y", "c\\@": "d\\&"}`), in: `{"a*b": 1, "c@": 2}`, want: `{"x.y":1,"d&":2}`},
		{name: "bare @ in an output path is text", spec: shift(`{"a": "by@"}`), in: `{"a": 1}`, want: `{"by@":1}`},
		{name: "keys and strings keep their escapes", spec: shift(`{"*": "&"}`), in: `{"a\"b\u00e9": "x\ny\u2028", "n": 1e400}`,
			want: `{"a\"bé":"x\ny\u2028","n":1e400}`},
		{name: "big numbers pass as written", spec: shift(`{"id": "id"}`), in: `{"id": 12345678901234567890123}`, want: `{"id":12345678901234567890123}`},
		{name: "two shifts in a row", spec: `[{"operation":"shift","spec":{"*":"a.&"}},{"operation":"shift","spec":{"a":{"x":"y"}}}]`,
			in: `{"x": 1}`, want: `{"y":1}`},
		{name: "an unresolved group is empty", spec: shift(`{"a|b*": "x&(0,1)"}`), in: `{"a": 1}`, want: `{"x":1}`},

		{name: "error: two values at one path", spec: shift(`{"a": "x", "b": "x"}`), in: `{"a": 1, "b": 2}`,
			errPart: `shift to "x": cannot write at "x": a value is already there`},
		{name: "error: written twice through a wildcard", spec: shift(`{"*": {"id": "ids.id"}}`), in: `{"p": {"id": 1}, "q": {"id": 2}}`,
			errPart: `a value is already there`},
		{name: "error: inside a copied value", spec: shift(`{"a": "x", "b": "x.y"}`), in: `{"a": {}, "b": 2}`,
			errPart: `cannot write at "x": it already holds an object written by another key`},
		{name: "error: root twice", spec: shift(`{"a": "", "b": ""}`), in: `{"a": 1, "b": 2}`, errPart: `cannot write at the root`},
		{name: "error: key into an array", spec: shift(`{"a": "l[]", "b": "l.x"}`), in: `{"a": 1, "b": 2}`,
			errPart: `cannot write at "l": it already holds an array`},
		{name: "error: index not a number", spec: shift(`{"*": "l[&]"}`), in: `{"x": 1}`, errPart: `"x" is not an array index`},
		{name: "error: index too big", spec: shift(`{"*": "l[&]"}`), in: `{"999999": 1}`, errPart: `"999999" is not an array index`},
	})
}

func TestJoltDefault(t *testing.T) {
	d := func(spec string) string { return `[{"operation":"default","spec":` + spec + `}]` }
	runJoltCases(t, []joltCase{
		{name: "adds missing", spec: d(`{"a": 1, "b": "x", "c": [1], "d": null}`), in: `{"b": "kept"}`,
			want: `{"b":"kept","a":1,"c":[1],"d":null}`},
		{name: "never overwrites, not even null", spec: d(`{"a": 1, "b": {"c": 2}}`), in: `{"a": null, "b": 5}`, want: `{"a":null,"b":5}`},
		{name: "nested into existing and missing objects", spec: d(`{"x": {"y": {"z": 1}}, "m": {"n": true}}`), in: `{"x": {"w": 0}}`,
			want: `{"x":{"w":0,"y":{"z":1}},"m":{"n":true}}`},
		{name: "alternatives", spec: d(`{"a|b": 0}`), in: `{"b": 1}`, want: `{"b":1,"a":0}`},
		{name: "star into every object and array item", spec: d(`{"items": {"*": {"qty": 1}}, "*": {"seen": true}}`),
			in: `{"items": [{"qty": 5}, {}, 3], "o": {}, "s": 1}`, want: `{"items":[{"qty":5},{"qty":1},3],"o":{"seen":true},"s":1}`},
		{name: "pattern", spec: d(`{"user_*": {"active": false}}`), in: `{"user_a": {}, "admin": {}}`,
			want: `{"user_a":{"active":false},"admin":{}}`},
		{name: "not an object at the top", spec: d(`{"a": 1}`), in: `[1]`, want: `[1]`},
	})
}

func TestJoltRemove(t *testing.T) {
	r := func(spec string) string { return `[{"operation":"remove","spec":` + spec + `}]` }
	runJoltCases(t, []joltCase{
		{name: "top and nested", spec: r(`{"a": "", "b": {"c": "", "x": {"y": ""}}}`), in: `{"a": 1, "b": {"c": 2, "d": 3}, "e": 4}`,
			want: `{"b":{"d":3},"e":4}`},
		{name: "values are ignored", spec: r(`{"a": 123, "b": null, "c": [1]}`), in: `{"a": 1, "b": 2, "c": 3, "d": 4}`, want: `{"d":4}`},
		{name: "star and patterns", spec: r(`{"tmp_*|debug": "", "o": {"*": ""}}`), in: `{"tmp_a": 1, "debug": 2, "o": {"x": 1}, "k": 3}`,
			want: `{"o":{},"k":3}`},
		{name: "array items by index and star", spec: r(`{"l": {"0": ""}, "m": {"*": {"secret": ""}}}`),
			in: `{"l": [1, 2, 3], "m": [{"secret": 1, "id": 1}, 7]}`, want: `{"l":[2,3],"m":[{"id":1},7]}`},
		{name: "missing is fine", spec: r(`{"nope": {"deeper": ""}}`), in: `{"a": 1}`, want: `{"a":1}`},
		{name: "not an object", spec: r(`{"a": ""}`), in: `"text"`, want: `"text"`},
	})
}

// TestJoltParseErrors checks that a bad spec fails at Parse with a message
// saying where and what to do.
func TestJoltParseErrors(t *testing.T) {
	for _, c := range []struct{ spec, errPart string }{
		{`not json`, `jolt spec: invalid JSON at byte 0`},
		{`"shift"`, `expected a list of operations`},
		{`[1]`, `operation 1: expected an object`},
		{`[{"operation": "sort", "spec": {}}]`, `operation "sort" is not supported: use shift, default or remove`},
		{`[{"operation": "shift"}]`, `"spec" is missing`},
		{`[{"spec": {}}]`, `"operation" must name one of shift, default, remove`},
		{`[{"operation": "shift", "spec": {}, "extra": 1}]`, `unknown field "extra"`},
		{shift(`[]`), `a shift spec is an object, not array`},
		{shift(`{"a": 1}`), `jolt spec: operation 1 (shift) › "a": the value of a shift key is an output path`},
		{shift(`{"a": [1]}`), `a list of output paths holds only strings`},
		{shift(`{"a": {"b": "&2"}}`), `reaches 2 levels up, above the top of the spec`},
		{shift(`{"a*": {"b": "&(1,2)"}}`), `match group 2 does not exist: the key 1 levels up has 1 stars`},
		{shift(`{"a&": "x"}`), `'&' is not supported on the left side`},
		{shift(`{"a": {"$": {"a": "b"}}}`), `a $ key takes an output path, not a nested spec`},
		{shift(`{"$": "a"}`), `$ at the top of the spec names no key`},
		{shift(`{"$x": "a"}`), `unexpected "x" after $`},
		{shift(`{"a": {"$2": "a"}}`), `$2 reaches 2 levels up`},
		{shift(`{"a": "x..y"}`), `empty name between dots`},
		{shift(`{"a": "x[y]"}`), `array index [y]`},
		{shift(`{"a": "x[1]y"}`), `expected [], [N] or [&N]`},
		{shift(`{"a": "@(1,x"}`), `unbalanced '('`},
		{shift(`{"a": "&(x)"}`), `is not a level number`},
		{shift(`{"a|b": "x", "b": "y"}`), `key "b" is also matched by "a|b"`},
		{shift(`{"a\\": "x"}`), `ends with a lone '\'`},
		{`[{"operation": "default", "spec": {"*": 1}}]`, `a key with '*' takes a nested spec object`},
		{`[{"operation": "remove", "spec": 1}]`, `a remove spec is an object`},
		{`[{"operation": "shift", "spec": {}}, {"operation": "default", "spec": {"a": {"b*": 2}}}]`, `operation 2 (default) › "a" › "b*"`},
	} {
		_, err := Parse([]byte(c.spec))
		if err == nil || !strings.Contains(err.Error(), c.errPart) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", c.spec, err, c.errPart)
		}
	}
}

func TestJoltBadInput(t *testing.T) {
	tr, err := Parse([]byte(shift(`{"a": "a"}`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{``, `{`, `{"a": 1,}`, `{"a" 1}`, `[1 2]`, `01`, `1.`, `-`, `"\x"`, "\"\xff\"", `{} {}`, `nul`, "\"a\tb\"", `"\ud800"x`} {
		_, err := tr.Apply([]byte(in))
		var se *SyntaxError
		if err == nil || !asSyntax(err, &se) {
			t.Errorf("Apply(%q) = %v, want a *SyntaxError", in, err)
		}
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := tr.Apply([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("deep input: %v", err)
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := ParseJSON([]byte(ok)); err != nil {
		t.Errorf("input at the depth limit: %v", err)
	}
}

func asSyntax(err error, se **SyntaxError) bool {
	s, ok := err.(*SyntaxError)
	*se = s
	return ok
}

// TestJoltReuse applies one transform to documents of different shapes in
// turn, through AppendApply (which reuses its memory from one document to
// the next) and ApplyValue (which does not), and checks both agree: a
// document must not see anything of the one before.
func TestJoltReuse(t *testing.T) {
	tr, err := Parse([]byte(`[{"operation":"shift","spec":{"*":{"*":"&1.&0","$":"keys[]"},"n":"n"}},` +
		`{"operation":"default","spec":{"d":{"x":1},"*":{"added":true}}},{"operation":"remove","spec":{"*":{"drop":""}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		`{"a":{"p":1,"drop":2},"b":{"q":[1,2,3]},"n":5}`,
		`{"big":{` + bigObject(300) + `}}`,
		`{"c":{"r":"s"}}`,
		`[]`,
		`{"a":{"p":{"deep":[{"x":1}]}}}`,
	}
	var buf []byte
	for round := range 3 {
		for _, d := range docs {
			v, err := ParseJSON([]byte(d))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tr.ApplyValue(v)
			if err != nil {
				t.Fatal(err)
			}
			if buf, err = tr.AppendApply(buf[:0], []byte(d)); err != nil || string(buf) != want.String() {
				t.Fatalf("round %d, %.40s: AppendApply gives %s, %v; ApplyValue %s", round, d, buf, err, want)
			}
		}
	}
}

// TestJoltAllocations checks the per-record costs the jolt module relies
// on: once warm, AppendApply and Parser.Parse allocate nothing.
func TestJoltAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; allocation counts are checked without -race")
	}
	tr, err := Parse([]byte(benchSpec))
	if err != nil {
		t.Fatal(err)
	}
	in := []byte(benchRecord)
	buf, _ := tr.AppendApply(nil, in)
	if n := testing.AllocsPerRun(100, func() { buf, err = tr.AppendApply(buf[:0], in) }); n != 0 || err != nil {
		t.Errorf("AppendApply: %v allocations per document, %v", n, err)
	}
	var p Parser
	if n := testing.AllocsPerRun(100, func() { _, err = p.Parse(in) }); n != 0 || err != nil {
		t.Errorf("Parser.Parse: %v allocations per document, %v", n, err)
	}
	v, err := p.Parse(in)
	if err != nil || v.String() != mustParse(t, benchRecord).String() {
		t.Fatalf("Parser.Parse: %s, %v", v, err)
	}
	if c, ok := v.Lookup("customer.country"); !ok || c.Text() != "GB" {
		t.Errorf("Lookup on a Parser's value: %v %v", c, ok)
	}
}

func mustParse(t *testing.T, s string) Value {
	t.Helper()
	v, err := ParseJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bigObject(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + `,`)
	}
	return b.String() + `"z":{"drop":1}`
}
