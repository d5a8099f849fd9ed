package jolt

import (
	"errors"
	"strconv"
)

// removeSpec is one level of a remove spec.
type removeSpec struct {
	entries []removeEntry
}

// removeEntry is one key of a remove spec: remove the matched members, or,
// with sub, remove inside them.
type removeEntry struct {
	pat keyPattern
	sub *removeSpec
}

func compileRemove(spec Value, where string) (*removeSpec, error) {
	if spec.kind != Object {
		return nil, errors.New(where + ": a remove spec is an object, not " + spec.Kind().String())
	}
	r := &removeSpec{}
	for _, m := range spec.members {
		at := where + " › " + strconv.Quote(m.Key)
		pat, err := parsePattern(m.Key)
		if err != nil {
			return nil, errors.New(at + ": " + err.Error())
		}
		e := removeEntry{pat: pat}
		if m.Value.kind == Object {
			if e.sub, err = compileRemove(m.Value, at); err != nil {
				return nil, err
			}
		}
		r.entries = append(r.entries, e)
	}
	return r, nil
}

// apply returns v without the members the spec names, and whether that
// changed it. Keys match object members, and array items by their index.
// It never modifies v.
func (r *removeSpec) apply(v Value, a *arena) (Value, bool) {
	if v.kind != Object && v.kind != Array {
		return v, false
	}
	var (
		out   []Member
		owned bool
		caps  [8]string
	)
	for j := range v.members {
		m := v.members[j]
		key := m.Key
		if v.kind == Array {
			key = indexKey(j)
		}
		drop, changed := false, false
		for i := range r.entries {
			e := &r.entries[i]
			if _, ok := e.pat.match(key, caps[:0]); !ok {
				continue
			}
			if e.sub == nil {
				drop = true
				break
			}
			var c bool
			if m.Value, c = e.sub.apply(m.Value, a); c {
				changed = true
			}
		}
		if (drop || changed) && !owned {
			out = append(a.take(0, len(v.members)), v.members[:j]...)
			owned = true
		}
		if owned && !drop {
			out = append(out, m)
		}
	}
	if !owned {
		return v, false
	}
	return Value{kind: v.kind, members: out}, true
}
