package jolt

import (
	"errors"
	"strconv"
	"sync"
	"unsafe"
)

// Transform is a parsed jolt spec: a list of operations applied in order.
// It is safe for concurrent use.
type Transform struct {
	ops    []operation
	states sync.Pool // *state
}

// state is the scratch space of one application of a transform, reused
// from one document to the next.
type state struct {
	parser parser
	shift  shifter
	reused arena // AppendApply's: its values die before it returns
	heap   arena // ApplyValue's: its values go to the caller
}

func (t *Transform) state() *state {
	st, _ := t.states.Get().(*state)
	if st == nil {
		st = &state{reused: arena{reuse: true}}
	}
	return st
}

// operation is one step of a spec; one of its fields is set.
type operation struct {
	shift *shiftSpec
	def   *defaultSpec
	rem   *removeSpec
}

// Parse parses a jolt spec: a JSON list of operations, each an object
// {"operation": "shift" | "default" | "remove", "spec": {...}}. A single
// operation object is accepted too.
//
// Errors name the operation and the path of spec keys that is wrong.
func Parse(spec []byte) (*Transform, error) {
	v, err := ParseJSON(spec)
	if err != nil {
		return nil, errors.New("jolt spec: " + err.Error())
	}
	ops := v.members
	switch v.kind {
	case Object:
		ops = []Member{{Value: v}}
	case Array:
	default:
		return nil, errors.New("jolt spec: expected a list of operations like [{\"operation\": \"shift\", \"spec\": {...}}], found " + article(v.Kind()))
	}
	t := &Transform{}
	for i, item := range ops {
		op, err := parseOperation(item.Value, "jolt spec: operation "+strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		t.ops = append(t.ops, op)
	}
	return t, nil
}

func parseOperation(v Value, where string) (operation, error) {
	if v.kind != Object {
		return operation{}, errors.New(where + ": expected an object {\"operation\": ..., \"spec\": {...}}, found " + article(v.Kind()))
	}
	var (
		name, spec       Value
		hasName, hasSpec bool
	)
	for _, m := range v.members {
		switch m.Key {
		case "operation":
			name, hasName = m.Value, true
		case "spec":
			spec, hasSpec = m.Value, true
		default:
			return operation{}, errors.New(where + ": unknown field " + strconv.Quote(m.Key) + ": an operation has only \"operation\" and \"spec\"")
		}
	}
	if !hasName || name.kind != String {
		return operation{}, errors.New(where + ": \"operation\" must name one of shift, default, remove")
	}
	if !hasSpec {
		return operation{}, errors.New(where + ": \"spec\" is missing")
	}
	op := name.Text()
	where += " (" + op + ")"
	var (
		o   operation
		err error
	)
	switch op {
	case "shift":
		o.shift, err = compileShift(spec, where, []int{0})
	case "default":
		o.def, err = compileDefault(spec, where)
	case "remove":
		o.rem, err = compileRemove(spec, where)
	default:
		err = errors.New(where + ": operation " + strconv.Quote(op) + " is not supported: use shift, default or remove")
	}
	return o, err
}

// Apply transforms the JSON document in and returns the result's JSON
// text. A document that is not JSON is a *SyntaxError.
func (t *Transform) Apply(in []byte) ([]byte, error) {
	return t.AppendApply(nil, in)
}

// AppendApply is Apply appending to dst, so that a caller transforming
// many documents can reuse one buffer. Once warm, it allocates only what
// dst needs to grow and the keys a shift composes ("&1-&0").
func (t *Transform) AppendApply(dst, in []byte) ([]byte, error) {
	st := t.state()
	defer t.states.Put(st)
	st.reused.reset()
	st.parser.a = &st.reused
	// The document's strings alias in: nothing of it outlives this call.
	v, err := st.parser.parse(unsafe.String(unsafe.SliceData(in), len(in)))
	st.parser.reset()
	if err != nil {
		return dst, err
	}
	if v, err = t.apply(st, &st.reused, v); err != nil {
		return dst, err
	}
	return v.AppendJSON(dst), nil
}

// ApplyValue transforms a parsed document. v is not modified; the result
// shares its unchanged parts.
func (t *Transform) ApplyValue(v Value) (Value, error) {
	st := t.state()
	defer t.states.Put(st)
	return t.apply(st, &st.heap, v)
}

func (t *Transform) apply(st *state, a *arena, v Value) (Value, error) {
	for i := range t.ops {
		op := &t.ops[i]
		switch {
		case op.shift != nil:
			st.shift.a = a
			var err error
			if v, err = st.shift.run(op.shift, v); err != nil {
				return Value{}, errors.New("operation " + strconv.Itoa(i+1) + ": " + err.Error())
			}
		case op.def != nil:
			v, _ = op.def.apply(v, a)
		case op.rem != nil:
			v, _ = op.rem.apply(v, a)
		}
	}
	return v, nil
}
