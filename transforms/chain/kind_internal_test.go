package chain

import "testing"

func TestChainKindLine(t *testing.T) {
	cases := []struct {
		lines []string
		kind  Kind
		found bool
	}{
		{nil, KindUnknown, false},
		{[]string{`{"skiff_sdk_kind":"filter"}`}, KindFilter, true},
		{[]string{"starting", `  {"skiff_sdk_kind":"aggregate"}  `}, KindAggregate, true},
		{[]string{`{"skiff_sdk_kind":"teleport"}`}, KindUnknown, true},
		{[]string{`{"skiff_sdk_kind":`, `{"skiff_sdk_kind":"map"}`}, KindMap, true},
		{[]string{`{"kind":"map"}`, `hello`}, KindUnknown, false},
	}
	for _, c := range cases {
		k, found := kindLine(c.lines)
		if k != c.kind || found != c.found {
			t.Errorf("%q: %q, %v; want %q, %v", c.lines, k, found, c.kind, c.found)
		}
	}
}
