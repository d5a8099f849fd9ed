package jolt

import (
	"strconv"
	"strings"
)

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values. The zero Value is null.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object

	// unset marks an array slot not written yet by a shift that wrote a
	// later index; the shift turns it into null when it ends. It never
	// leaves the package.
	unset
)

func (k Kind) String() string {
	switch k {
	case Null, unset:
		return "null"
	case Bool:
		return "boolean"
	case Number:
		return "number"
	case String:
		return "string"
	case Array:
		return "array"
	case Object:
		return "object"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Value is a JSON value that keeps what matters for a record transform:
// the order of object members, and numbers and strings exactly as written
// (a 64-bit ID passes through unchanged, and a string is unescaped only if
// something looks at it).
//
// Values are immutable once built: operations that change a document build
// new objects and arrays and share the unchanged parts with their input.
// So a Value may be used again after a transform and by several goroutines.
type Value struct {
	kind Kind
	// open marks an object or array that a shift is still building: the
	// shift may add to it, where a value it copied from the input is
	// written once and never entered again.
	open bool
	// raw is a scalar's JSON text: "true", "-1.5e3", `"a\nb"` (with its
	// quotes and escapes).
	raw string
	// members holds an object's members in order, or an array's items
	// (their Key empty).
	members []Member
}

// Member is a member of an object (or, with an empty Key, an item of an
// array).
type Member struct {
	Key   string // unescaped
	Value Value
}

// Kind returns v's kind.
func (v Value) Kind() Kind {
	if v.kind == unset {
		return Null
	}
	return v.kind
}

// Len returns the number of members of an object or items of an array, and
// 0 for other kinds.
func (v Value) Len() int { return len(v.members) }

// Members returns an object's members in order, or an array's items (with
// empty keys). The slice is shared: do not modify it.
func (v Value) Members() []Member { return v.members }

// Get returns the member of an object named key (the first one, should the
// object name a key twice) or, for an array, the item at key read as a
// decimal index.
func (v Value) Get(key string) (Value, bool) {
	switch v.kind {
	case Object:
		for i := range v.members {
			if v.members[i].Key == key {
				return v.members[i].Value, true
			}
		}
	case Array:
		if i, ok := arrayIndex(key); ok && i < len(v.members) {
			return v.members[i].Value, true
		}
	}
	return Value{}, false
}

// Lookup follows a dot-separated path of member names (array indexes as
// decimal numbers) from v: "user.address.country", "items.0.id". The empty
// path is v itself.
func (v Value) Lookup(path string) (Value, bool) {
	if path == "" {
		return v, true
	}
	for {
		name, rest, more := strings.Cut(path, ".")
		var ok bool
		if v, ok = v.Get(name); !ok {
			return Value{}, false
		}
		if !more {
			return v, true
		}
		path = rest
	}
}

// Text returns a scalar as text: a string unescaped, a number as written,
// "true", "false" or "null". Arrays and objects return their JSON text.
func (v Value) Text() string {
	switch v.kind {
	case String:
		s, _ := unquote(v.raw)
		return s
	case Null, unset:
		return "null"
	case Bool, Number:
		return v.raw
	}
	return string(v.AppendJSON(nil))
}

// StringValue returns the JSON string s.
func StringValue(s string) Value {
	return Value{kind: String, raw: string(appendQuoted(nil, s))}
}

// arrayIndex reads a decimal array index: digits only, no sign, no leading
// zero.
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// indexKeys are the keys of the first array items, so that walking an
// array does not format its indexes.
var indexKeys = func() []string {
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}()

func indexKey(i int) string {
	if i < len(indexKeys) {
		return indexKeys[i]
	}
	return strconv.Itoa(i)
}
