package jolt

import (
	"errors"
	"strconv"
)

// defaultSpec is one level of a default spec.
type defaultSpec struct {
	entries []defaultEntry
	adds    int // how many members the exact keys may add
}

// defaultEntry is one key of a default spec: a value to add where the
// key is missing (val), or defaults inside the key's object (sub).
type defaultEntry struct {
	pat keyPattern
	val Value
	sub *defaultSpec
}

func compileDefault(spec Value, where string) (*defaultSpec, error) {
	if spec.kind != Object {
		return nil, errors.New(where + ": a default spec is an object, not " + spec.Kind().String())
	}
	d := &defaultSpec{}
	for _, m := range spec.members {
		at := where + " › " + strconv.Quote(m.Key)
		pat, err := parsePattern(m.Key)
		if err != nil {
			return nil, errors.New(at + ": " + err.Error())
		}
		e := defaultEntry{pat: pat, val: m.Value}
		if m.Value.kind == Object {
			if e.sub, err = compileDefault(m.Value, at); err != nil {
				return nil, err
			}
		} else if !pat.literal {
			return nil, errors.New(at + ": a key with '*' takes a nested spec object: default adds only missing keys, and a pattern matches only keys that exist")
		}
		d.entries = append(d.entries, e)
		if pat.literal {
			d.adds += len(pat.alts)
		}
	}
	return d, nil
}

// apply returns v with the defaults added, and whether that changed it. It
// never modifies v: a changed object or array is a new one sharing the
// unchanged members.
func (d *defaultSpec) apply(v Value, a *arena) (Value, bool) {
	if v.kind != Object && v.kind != Array {
		return v, false
	}
	members, owned := v.members, false
	own := func() {
		if !owned {
			members = append(a.take(0, len(members)+d.adds), members...)
			owned = true
		}
	}
	for i := range d.entries {
		e := &d.entries[i]
		if e.pat.literal {
			if v.kind != Object {
				continue // exact keys name object members
			}
			for _, alt := range e.pat.alts {
				key := alt.parts[0]
				j := find(members, key)
				switch {
				case j < 0:
					nv := e.val
					if e.sub != nil {
						nv, _ = e.sub.apply(Value{kind: Object, members: []Member{}}, a)
					}
					own()
					members = append(members, Member{Key: key, Value: nv})
				case e.sub != nil:
					if nv, changed := e.sub.apply(members[j].Value, a); changed {
						own()
						members[j].Value = nv
					}
				}
			}
			continue
		}
		var caps [8]string
		for j := range members {
			key := members[j].Key
			if v.kind == Array {
				key = indexKey(j)
			}
			if _, ok := e.pat.match(key, caps[:0]); !ok {
				continue
			}
			if nv, changed := e.sub.apply(members[j].Value, a); changed {
				own()
				members[j].Value = nv
			}
		}
	}
	if !owned {
		return v, false
	}
	return Value{kind: v.kind, members: members}, true
}

func find(members []Member, key string) int {
	for i := range members {
		if members[i].Key == key {
			return i
		}
	}
	return -1
}
