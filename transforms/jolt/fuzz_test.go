package jolt

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzJoltParseJSON checks the JSON parser against encoding/json:
//   - it never panics;
//   - on valid UTF-8 that is not nested near MaxDepth, it accepts exactly
//     what json.Valid accepts;
//   - what it accepts encodes back to valid JSON that means the same (as
//     encoding/json decodes both) and encodes again to the same bytes;
//   - every string's Text is what encoding/json unquotes.
func FuzzJoltParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,true,false,null,"x\ny\u00e9\ud83d\ude00"]}`, `"\ud800"`, ` [ ] `, `{"a":1,"a":2}`, `1e400`, `-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		if utf8.Valid(b) && bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) < MaxDepth {
			if valid := json.Valid(b); valid != (err == nil) {
				t.Fatalf("ParseJSON(%q) = %v, json.Valid = %v", b, err, valid)
			}
		}
		if err != nil {
			return
		}
		out := v.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("%q encoded as invalid JSON %q", b, out)
		}
		if want, got := decodeStd(t, b), decodeStd(t, out); !reflect.DeepEqual(want, got) {
			t.Fatalf("%q encoded as %q, which means something else", b, out)
		}
		v2, err := ParseJSON(out)
		if err != nil || string(v2.AppendJSON(nil)) != string(out) {
			t.Fatalf("%q encodes again as %q, %v", out, v2.AppendJSON(nil), err)
		}
		checkStrings(t, v)
	})
}

func decodeStd(t *testing.T, b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("encoding/json cannot decode %q: %v", b, err)
	}
	return v
}

func checkStrings(t *testing.T, v Value) {
	switch v.kind {
	case String:
		var want string
		if err := json.Unmarshal([]byte(v.raw), &want); err != nil || v.Text() != want {
			t.Fatalf("Text of %s = %q, encoding/json says %q (%v)", v.raw, v.Text(), want, err)
		}
	case Object, Array:
		for _, m := range v.members {
			checkStrings(t, m.Value)
		}
	}
}

// FuzzJolt runs arbitrary specs over arbitrary documents. It checks that
// Parse and Apply never panic, that Apply's output is valid JSON, and that
// a transform changes neither its input nor its own spec: applying it
// twice to one parsed input gives the same result, and AppendApply (which
// reuses memory between documents) gives what ApplyValue gives.
func FuzzJolt(f *testing.F) {
	seeds := []struct{ spec, in string }{
		{shift(`{"rating": {"primary": {"value": "Rating"}, "*": {"value": "S.&1.V", "$": "S.&.Id", "@": "all[]"}}}`), `{"rating": {"primary": {"value": 3}, "q": {"value": 3, "max": 5}}}`},
		{shift(`{"photos": {"*": {"url": "images[&1].href", "id": "ids[]"}}, "#x": "h", "@(0,a)": "b"}`), `{"photos": [{"url": "a", "id": 1}], "a": 2}`},
		{shift(`{"a-*|b": {"*": "&(1,1).@(1,k)-&0", "$": "k[3]"}}`), `{"a-x": {"k": "v", "m": [1]}, "b": 2}`},
		{`[{"operation":"default","spec":{"x":{"*":{"y":1}},"a|b":[1]}},{"operation":"remove","spec":{"x":{"0":""},"*z":""}}]`, `{"x": [{}, {"y": 2}], "az": 1}`},
		{shift(`{"*": "[&]", "a": ""}`), `[1, 2, 3]`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.spec), []byte(s.in))
	}
	f.Fuzz(func(t *testing.T, spec, in []byte) {
		tr, err := Parse(spec)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "jolt spec: ") {
				t.Fatalf("Parse error without its prefix: %v", err)
			}
			return
		}
		v, err := ParseJSON(in)
		if err != nil {
			return
		}
		before := v.String()
		out1, err1 := tr.ApplyValue(v)
		out2, err2 := tr.ApplyValue(v)
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("two runs differ: %v / %v", err1, err2)
		}
		if v.String() != before {
			t.Fatalf("the input changed: %s -> %s", before, v.String())
		}
		if err1 != nil {
			return
		}
		if out1.String() != out2.String() {
			t.Fatalf("two runs differ: %s / %s", out1, out2)
		}
		b := out1.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON out: %q", b)
		}
		if b2, err := tr.AppendApply(nil, in); err != nil || string(b2) != string(b) {
			t.Fatalf("AppendApply gives %q, %v; ApplyValue %q", b2, err, b)
		}
		if b3, err := tr.AppendApply(nil, in); err != nil || string(b3) != string(b) {
			t.Fatalf("AppendApply again gives %q, %v; ApplyValue %q", b3, err, b)
		}
	})
}
