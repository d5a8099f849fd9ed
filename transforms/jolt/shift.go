package jolt

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// shiftSpec is one level of a shift spec: the entries matching the keys of
// one input object (or the indexes of one input array).
type shiftSpec struct {
	// literals are the exact keys (each of "a|b" too); literal indexes
	// them when there are many: in WebAssembly a map lookup costs more
	// than comparing a few strings.
	literals []literalEntry
	literal  map[string]*shiftEntry
	computed []*shiftEntry // keys with stars, most specific first
	special  []*shiftEntry // $, @ and # keys, in spec order
}

type literalEntry struct {
	key string
	e   *shiftEntry
}

// maxScanned is the most exact keys of one level looked up by a scan.
const maxScanned = 8

// lookup returns the entry of the exact key, or nil.
func (s *shiftSpec) lookup(key string) *shiftEntry {
	if s.literal != nil {
		return s.literal[key]
	}
	for i := range s.literals {
		if s.literals[i].key == key {
			return s.literals[i].e
		}
	}
	return nil
}

type entryKind uint8

const (
	entryMatch  entryKind = iota // a key matching input keys
	entryDollar                  // "$", "$(N,M)": a matched key as the value
	entryAt                      // "@", "@(N,path)": a value of the input
	entryHash                    // "#text": text as the value
)

// shiftEntry is one key of a shift spec with what it does: descend into
// the matched value with sub, or write the value to outs.
type shiftEntry struct {
	key  string // as written, for errors
	kind entryKind
	pat  keyPattern
	ref  ref   // entryDollar, entryAt
	hash Value // entryHash
	sub  *shiftSpec
	outs []outPath
}

// compileShift compiles one level of a shift spec. stars holds, for each
// level from the root down to this one, the most stars a key matched at
// that level can have, to check the references of output paths.
func compileShift(spec Value, where string, stars []int) (*shiftSpec, error) {
	if spec.kind != Object {
		return nil, errors.New(where + ": a shift spec is an object, not " + spec.Kind().String())
	}
	s := &shiftSpec{}
	for _, m := range spec.members {
		at := where + " › " + strconv.Quote(m.Key)
		e, err := compileShiftEntry(m.Key, m.Value, at, stars)
		if err != nil {
			return nil, err
		}
		switch {
		case e.kind != entryMatch:
			s.special = append(s.special, e)
		case e.pat.literal:
			for _, alt := range e.pat.alts {
				if prev := s.lookup(alt.parts[0]); prev != nil {
					return nil, errors.New(at + ": key " + strconv.Quote(alt.parts[0]) + " is also matched by " + strconv.Quote(prev.key) + " at this level: merge them")
				}
				s.literals = append(s.literals, literalEntry{alt.parts[0], e})
				if s.literal != nil || len(s.literals) > maxScanned {
					if s.literal == nil {
						s.literal = map[string]*shiftEntry{}
					}
					for _, l := range s.literals {
						s.literal[l.key] = l.e
					}
				}
			}
		default:
			s.computed = append(s.computed, e)
		}
	}
	slices.SortStableFunc(s.computed, func(a, b *shiftEntry) int {
		return cmp.Compare(b.pat.specificity, a.pat.specificity)
	})
	return s, nil
}

func compileShiftEntry(key string, val Value, at string, stars []int) (*shiftEntry, error) {
	e := &shiftEntry{key: key}
	here := len(stars) - 1 // the level of the object this key is in
	ownStars := 0
	switch {
	case key != "" && (key[0] == '$' || key[0] == '@'):
		r, n, err := parseRef(key, key[0])
		if err != nil {
			return nil, errors.New(at + ": " + err.Error())
		}
		if n != len(key) {
			return nil, errors.New(at + ": unexpected " + strconv.Quote(key[n:]) + " after " + key[:n] + "; escape a leading " + key[:1] + " as \\\\" + key[:1] + " to match it literally")
		}
		// & and $ name keys, and the root has none: they may reach the
		// top-level keys; @ may reach the root's value.
		top := here - keyLevel(key[0])
		if top < 0 {
			return nil, errors.New(at + ": " + key + " at the top of the spec names no key (the whole input has none): use it inside a key's spec")
		}
		if r.up > top {
			return nil, errors.New(at + ": " + key + " reaches " + strconv.Itoa(r.up) + " levels up, above the top of the spec (" + strconv.Itoa(top) + " levels here)")
		}
		if key[0] == '$' {
			e.kind, r.kind = entryDollar, refAmp
			if r.group > stars[here-r.up] {
				return nil, errors.New(at + ": match group " + strconv.Itoa(r.group) + " does not exist: the key " + strconv.Itoa(r.up) + " levels up has " + strconv.Itoa(stars[here-r.up]) + " stars")
			}
		} else {
			e.kind = entryAt
		}
		e.ref = r
	case strings.HasPrefix(key, "#"):
		e.kind, e.hash = entryHash, StringValue(key[1:])
	default:
		pat, err := parsePattern(key)
		if err != nil {
			return nil, errors.New(at + ": " + err.Error())
		}
		e.pat, ownStars = pat, pat.stars
	}
	levels := append(stars[:len(stars):len(stars)], ownStars)
	switch val.kind {
	case Object:
		if e.kind == entryDollar || e.kind == entryHash {
			return nil, errors.New(at + ": a " + key[:1] + " key takes an output path, not a nested spec")
		}
		sub, err := compileShift(val, at, levels)
		if err != nil {
			return nil, err
		}
		e.sub = sub
		return e, nil
	case String:
		return e, e.addOut(val, at, levels)
	case Array:
		for _, item := range val.members {
			if item.Value.kind != String {
				return nil, errors.New(at + ": a list of output paths holds only strings, not " + item.Value.Kind().String())
			}
			if err := e.addOut(item.Value, at, levels); err != nil {
				return nil, err
			}
		}
		return e, nil
	}
	return nil, errors.New(at + ": the value of a shift key is an output path (\"a.b\", \"\" for the root), a list of them, or a nested spec object, not " + val.Kind().String())
}

// keyLevel is the first level a reference may reach: & and $ name keys,
// which start at level 1; @ names values, and level 0 is the whole input.
func keyLevel(sigil byte) int {
	if sigil == '@' {
		return 0
	}
	return 1
}

func (e *shiftEntry) addOut(v Value, at string, levels []int) error {
	text := v.Text()
	p, err := parseOutPath(text)
	if err != nil {
		return errors.New(at + ": output path " + strconv.Quote(text) + ": " + err.Error())
	}
	here := len(levels) - 1
	for _, st := range p.steps {
		for _, part := range st.key {
			if part.ref.kind == refNone {
				continue
			}
			r := part.ref
			sigil := byte('&')
			if r.kind == refAt {
				sigil = '@'
			}
			if top := here - keyLevel(sigil); r.up > top {
				return errors.New(at + ": output path " + strconv.Quote(text) + " reaches " + strconv.Itoa(r.up) + " levels up, above the top of the spec (" + strconv.Itoa(top) + " levels here)")
			}
			if r.kind == refAmp && r.group > levels[here-r.up] {
				return errors.New(at + ": output path " + strconv.Quote(text) + ": match group " + strconv.Itoa(r.group) + " does not exist: the key " + strconv.Itoa(r.up) + " levels up has " + strconv.Itoa(levels[here-r.up]) + " stars")
			}
		}
	}
	e.outs = append(e.outs, p)
	return nil
}

// shifter applies a shift spec to one document.
type shifter struct {
	levels []level  // the matched keys from the root to the current one
	caps   []string // what the stars of the levels' keys matched
	out    Value    // the document being built
	buf    []byte   // scratch for composed keys
	names  []string // scratch: the names of an output path's steps
	a      *arena   // where the objects and arrays built get their members
}

// level is a key matched on the way down, with its value.
type level struct {
	key        string
	caps, capn int // s.caps[caps:capn] are its stars' matches
	val        Value
}

func (s *shifter) run(spec *shiftSpec, in Value) (Value, error) {
	s.levels = append(s.levels[:0], level{val: in})
	s.caps = s.caps[:0]
	s.out = Value{kind: unset}
	err := s.process(spec, in)
	out := s.out
	s.out = Value{}
	clear(s.levels[:cap(s.levels)])
	clear(s.caps[:cap(s.caps)])
	clear(s.names[:cap(s.names)])
	if err != nil {
		return Value{}, err
	}
	if out.kind == unset {
		return Value{kind: Object, members: []Member{}}, nil
	}
	seal(&out)
	return out, nil
}

// process matches the keys of v against spec; the level of v is pushed.
func (s *shifter) process(spec *shiftSpec, v Value) error {
	for _, e := range spec.special {
		if err := s.special(e, v); err != nil {
			return err
		}
	}
	if v.kind != Object && v.kind != Array {
		return nil
	}
	for i := range v.members {
		key := v.members[i].Key
		if v.kind == Array {
			key = indexKey(i)
		}
		if e := spec.lookup(key); e != nil {
			if err := s.enter(e, key, len(s.caps), v.members[i].Value); err != nil {
				return err
			}
			continue
		}
		for _, e := range spec.computed {
			c := len(s.caps)
			var ok bool
			if s.caps, ok = e.pat.match(key, s.caps); ok {
				err := s.enter(e, key, c, v.members[i].Value)
				s.caps = s.caps[:c]
				if err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// enter pushes the level of a matched key (whose stars' matches start at
// caps) and descends into its value or writes it.
func (s *shifter) enter(e *shiftEntry, key string, caps int, v Value) error {
	s.levels = append(s.levels, level{key: key, caps: caps, capn: len(s.caps), val: v})
	var err error
	if e.sub != nil {
		err = s.process(e.sub, v)
	} else {
		for i := range e.outs {
			if err = s.write(&e.outs[i], v); err != nil {
				break
			}
		}
	}
	s.levels = s.levels[:len(s.levels)-1]
	return err
}

// special applies a $, @ or # key of the level whose value is v. As in
// Java Jolt, the key of its own level (& in its output path) is the key it
// writes for $, the text for #, and for @ the key of the level it is in
// (so that & and &1 both name that key).
func (s *shifter) special(e *shiftEntry, v Value) error {
	var (
		data Value
		key  = s.levels[len(s.levels)-1].key
	)
	switch e.kind {
	case entryDollar:
		key = s.capture(e.ref.up, e.ref.group)
		data = StringValue(key)
	case entryHash:
		key, data = e.key[1:], e.hash
	case entryAt:
		var ok bool
		if data, ok = s.value(e.ref.up, e.ref.path); !ok {
			return nil
		}
	}
	return s.enter(e, key, len(s.caps), data)
}

// capture returns a matched key, up levels above the current one: group 0
// is the whole key, group N what its Nth star matched.
func (s *shifter) capture(up, group int) string {
	i := len(s.levels) - 1 - up
	if i < 0 {
		return ""
	}
	l := &s.levels[i]
	if group == 0 {
		return l.key
	}
	if group <= l.capn-l.caps {
		return s.caps[l.caps+group-1]
	}
	return "" // an alternative with fewer stars matched
}

// value returns the value found by path below the value up levels above.
func (s *shifter) value(up int, path string) (Value, bool) {
	i := len(s.levels) - 1 - up
	if i < 0 {
		return Value{}, false
	}
	return s.levels[i].val.Lookup(path)
}

// name resolves a member name; ok is false when an @(N,path) in it finds
// no scalar, which skips the write.
func (s *shifter) name(k keyText) (string, bool) {
	if len(k) == 1 {
		return s.part(&k[0])
	}
	s.buf = s.buf[:0]
	for i := range k {
		t, ok := s.part(&k[i])
		if !ok {
			return "", false
		}
		s.buf = append(s.buf, t...)
	}
	return string(s.buf), true
}

func (s *shifter) part(p *keyPart) (string, bool) {
	switch p.ref.kind {
	case refAmp:
		return s.capture(p.ref.up, p.ref.group), true
	case refAt:
		v, ok := s.value(p.ref.up, p.ref.path)
		if !ok || v.kind == Object || v.kind == Array {
			return "", false
		}
		return v.Text(), true
	}
	return p.lit, true
}

// write writes v at p in the document being built. Each step of the path
// leads to a slot (a member or an item, created unset when missing), which
// the next step turns into an object or an array that the shift builds; the
// last slot must still be unset. Values copied from the input are never
// entered: writing inside one, or a second time to one place, is an error.
func (s *shifter) write(p *outPath, v Value) error {
	// Resolve the names first: a reference that finds nothing skips the
	// write before it leaves empty objects on the way.
	s.names = s.names[:0]
	for i := range p.steps {
		t := ""
		if p.steps[i].key != nil {
			var ok bool
			if t, ok = s.name(p.steps[i].key); !ok {
				return nil
			}
		}
		s.names = append(s.names, t)
	}
	v.open = false
	cur := &s.out
	for i := range p.steps {
		st := &p.steps[i]
		want := Object
		if st.index {
			want = Array
		}
		if cur.kind == unset {
			*cur = Value{kind: want, open: true, members: s.a.take(0, 4)}
		}
		if cur.kind != want || !cur.open {
			return s.conflict(p, i, "it already holds "+article(cur.Kind())+" written by another key")
		}
		if !st.index {
			cur = s.slot(cur, s.names[i])
			continue
		}
		n := len(cur.members)
		switch {
		case st.append:
			cur.members = append(s.a.grow(cur.members), Member{Value: Value{kind: unset}})
		case st.key != nil:
			t := s.names[i]
			var ok bool
			if n, ok = arrayIndex(t); !ok || n > maxIndex {
				return s.conflict(p, i, strconv.Quote(t)+" is not an array index (0 to "+strconv.Itoa(maxIndex)+")")
			}
		default:
			n = st.fixed
		}
		for len(cur.members) <= n {
			cur.members = append(s.a.grow(cur.members), Member{Value: Value{kind: unset}})
		}
		cur = &cur.members[n].Value
	}
	if cur.kind != unset {
		return s.conflict(p, len(p.steps), "a value is already there: each output path takes one value (use [] to collect several in an array)")
	}
	*cur = v
	return nil
}

// slot returns the member of the object o named key, adding it unset.
func (s *shifter) slot(o *Value, key string) *Value {
	for i := range o.members {
		if o.members[i].Key == key {
			return &o.members[i].Value
		}
	}
	o.members = append(s.a.grow(o.members), Member{Key: key, Value: Value{kind: unset}})
	return &o.members[len(o.members)-1].Value
}

// conflict reports a write that failed at step i of p, naming the path
// resolved for this record (s.names holds its names).
func (s *shifter) conflict(p *outPath, i int, why string) error {
	var b strings.Builder
	for j, st := range p.steps[:i] {
		t := s.names[j]
		switch {
		case st.index && st.append:
			b.WriteString("[]")
		case st.index && st.key == nil:
			b.WriteString("[" + strconv.Itoa(st.fixed) + "]")
		case st.index:
			b.WriteString("[" + t + "]")
		case j > 0:
			b.WriteString("." + t)
		default:
			b.WriteString(t)
		}
	}
	where := b.String()
	if where == "" {
		where = "the root"
	} else {
		where = strconv.Quote(where)
	}
	return shiftErr(p, "cannot write at "+where+": "+why)
}

func article(k Kind) string {
	switch k {
	case Array, Object:
		return "an " + k.String()
	}
	return "a " + k.String()
}

// seal ends the building of v: containers the shift built become ordinary
// values, and array slots never written become null.
func seal(v *Value) {
	if !v.open {
		return
	}
	v.open = false
	for i := range v.members {
		m := &v.members[i].Value
		if m.kind == unset {
			*m = Value{}
		}
		seal(m)
	}
}
