package jolt

import (
	"errors"
	"strconv"
	"sync"
)

// Transform is a parsed jolt spec: a list of operations applied in order.
// It is safe for concurrent use.
type Transform struct {
	ops      []operation
	shifters sync.Pool // *shifter, scratch space reused between documents
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
// many documents can reuse one buffer.
func (t *Transform) AppendApply(dst, in []byte) ([]byte, error) {
	v, err := ParseJSON(in)
	if err != nil {
		return dst, err
	}
	if v, err = t.ApplyValue(v); err != nil {
		return dst, err
	}
	return v.AppendJSON(dst), nil
}

// ApplyValue transforms a parsed document. v is not modified.
func (t *Transform) ApplyValue(v Value) (Value, error) {
	for i := range t.ops {
		op := &t.ops[i]
		switch {
		case op.shift != nil:
			s, _ := t.shifters.Get().(*shifter)
			if s == nil {
				s = &shifter{}
			}
			var err error
			v, err = s.run(op.shift, v)
			t.shifters.Put(s)
			if err != nil {
				return Value{}, errors.New("operation " + strconv.Itoa(i+1) + ": " + err.Error())
			}
		case op.def != nil:
			v, _ = op.def.apply(v)
		case op.rem != nil:
			v, _ = op.rem.apply(v)
		}
	}
	return v, nil
}
