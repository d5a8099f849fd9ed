package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Spec is a parsed transforms.yml, Fluvio's format:
//
//	transforms:
//	  - uses: infinyon/jolt@0.4.1
//	    with:
//	      spec:
//	        - operation: shift
//	          spec: {quote: ""}
//	    lookback: {last: 100, age: 1w}   # optional
type Spec struct {
	Steps []Step
}

// Step is one transform of a chain.
type Step struct {
	// Uses names the module: a stored module's name, a built-in, or a
	// Fluvio Hub name such as infinyon/jolt@0.4.1. Resolve turns it into
	// a module.
	Uses string
	// With holds the step's parameters, each an environment variable of
	// the module: YAML scalars as the strings they are written as, nested
	// maps and lists as JSON text (keys in the order written).
	With map[string]string
	// Lookback is nil when the step has none.
	Lookback *Lookback
}

// Lookback asks for recent records to be replayed through the chain when
// it starts, so an aggregate starts from the state those records make.
// Zero fields do not bound: Last 0 means any number of records, Age 0 any
// age. A parsed Lookback has at least one of them set.
type Lookback struct {
	Last int64         // at most this many of the last records
	Age  time.Duration // records no older than this
}

// SingleStep is the chain of one module with parameters, what
// `--smartmodule NAME --params k=v` asks for.
func SingleStep(uses string, with map[string]string) *Spec {
	w := make(map[string]string, len(with))
	for k, v := range with {
		w[k] = v
	}
	return &Spec{Steps: []Step{{Uses: uses, With: w}}}
}

// Lookback returns what the chain needs replayed at start: the largest of
// its steps' lookbacks (an unbounded field wins), or nil if no step has one.
func (s *Spec) Lookback() *Lookback {
	var out *Lookback
	for _, st := range s.Steps {
		lb := st.Lookback
		if lb == nil {
			continue
		}
		if out == nil {
			c := *lb
			out = &c
			continue
		}
		out.Last = widest(out.Last, lb.Last)
		out.Age = time.Duration(widest(int64(out.Age), int64(lb.Age)))
	}
	return out
}

// widest combines two bounds where 0 means unbounded.
func widest(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}

// specError is an error about a place in a transforms.yml.
func specError(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n != nil && n.Line > 0 {
		return fmt.Errorf("transforms.yml line %d: %s", n.Line, msg)
	}
	return fmt.Errorf("transforms.yml: %s", msg)
}

// ParseSpec parses a transforms.yml. Errors name the line where YAML gives
// one and say what is expected there. Unknown keys are errors, so a typo
// (`use:` for `uses:`) does not silently drop a step's setting.
func ParseSpec(yml []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(yml))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, specError(nil, "the file is empty; it needs a `transforms:` list with at least one `- uses: MODULE` step")
		}
		return nil, fmt.Errorf("transforms.yml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, specError(&extra, "a second YAML document (after ---); put every step under one `transforms:` list")
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil, specError(root, "expected a mapping with a `transforms:` list, found %s", describeNode(root))
	}
	var steps *yaml.Node
	err := eachKey(root, func(k, v *yaml.Node) error {
		if k.Value != "transforms" {
			return specError(k, "unknown key %q at the top level; the only key is `transforms`", k.Value)
		}
		steps = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if steps == nil {
		return nil, specError(root, "no `transforms:` key; list the steps under it")
	}
	if steps.Kind != yaml.SequenceNode {
		return nil, specError(steps, "`transforms` must be a list of steps (`- uses: MODULE`), found %s", describeNode(steps))
	}
	if len(steps.Content) == 0 {
		return nil, specError(steps, "`transforms` is empty; list at least one step (`- uses: MODULE`)")
	}
	spec := &Spec{}
	for i, n := range steps.Content {
		st, err := parseStep(resolve(n))
		if err != nil {
			return nil, fmt.Errorf("%w (step %d)", err, i+1)
		}
		spec.Steps = append(spec.Steps, st)
	}
	return spec, nil
}

func parseStep(n *yaml.Node) (Step, error) {
	if n.Kind != yaml.MappingNode {
		return Step{}, specError(n, "a step must be a mapping with `uses:`, found %s", describeNode(n))
	}
	st := Step{With: map[string]string{}}
	err := eachKey(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "uses":
			if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" || strings.TrimSpace(v.Value) == "" {
				return specError(v, "`uses` must name a module (such as infinyon/jolt@0.4.1), found %s", describeNode(v))
			}
			st.Uses = strings.TrimSpace(v.Value)
		case "with":
			w, err := parseWith(v)
			if err != nil {
				return err
			}
			st.With = w
		case "lookback":
			lb, err := parseLookback(v)
			if err != nil {
				return err
			}
			st.Lookback = lb
		default:
			return specError(k, "unknown step key %q; a step has `uses`, `with` and `lookback`", k.Value)
		}
		return nil
	})
	if err != nil {
		return Step{}, err
	}
	if st.Uses == "" {
		return Step{}, specError(n, "the step has no `uses:`; name the module it runs")
	}
	return st, nil
}

// parseWith converts a step's `with:` mapping to parameters.
func parseWith(n *yaml.Node) (map[string]string, error) {
	with := map[string]string{}
	if n.ShortTag() == "!!null" {
		return with, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, specError(n, "`with` must be a mapping of parameter names to values, found %s", describeNode(n))
	}
	err := eachKey(n, func(k, v *yaml.Node) error {
		if err := checkParamName(k.Value); err != nil {
			return specError(k, "%v", err)
		}
		value, err := paramValue(v)
		if err != nil {
			return err
		}
		with[k.Value] = value
		return nil
	})
	return with, err
}

// checkParamName refuses names that cannot be an environment variable of
// a module or that the engine and SDK reserve.
func checkParamName(name string) error {
	switch {
	case name == "" || strings.ContainsAny(name, "=\x00"):
		return fmt.Errorf("parameter name %q: it must be non-empty, without '=' or NUL", name)
	case name == "REDPANDA_INPUT_TOPIC" || strings.HasPrefix(name, "REDPANDA_OUTPUT_TOPIC_") || name == describeEnv:
		return fmt.Errorf("parameter name %q is reserved; choose another name", name)
	}
	return nil
}

func parseLookback(n *yaml.Node) (*Lookback, error) {
	if n.Kind != yaml.MappingNode {
		return nil, specError(n, "`lookback` must be a mapping such as {last: 100, age: 1w}, found %s", describeNode(n))
	}
	lb := &Lookback{}
	err := eachKey(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "last":
			last, err := strconv.ParseInt(v.Value, 10, 64)
			if v.Kind != yaml.ScalarNode || err != nil || last < 0 {
				return specError(v, "lookback `last` must be a count of records (0 or more), found %q", v.Value)
			}
			lb.Last = last
		case "age":
			age, err := ParseHumanDuration(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				return specError(v, "lookback `age`: %v", err)
			}
			lb.Age = age
		default:
			return specError(k, "unknown lookback key %q; it has `last` (a count) and `age` (a duration such as 1w)", k.Value)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if lb.Last == 0 && lb.Age == 0 {
		return nil, specError(n, "lookback bounds nothing; give `last` (a count), `age` (a duration such as 1w) or both")
	}
	return lb, nil
}

// eachKey calls fn for each key and value of a mapping, refusing
// duplicate keys, non-scalar keys and merge keys.
func eachKey(n *yaml.Node, fn func(k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return specError(k, "a key must be a plain name, found %s", describeNode(k))
		}
		if k.ShortTag() == "!!merge" {
			return specError(k, "merge keys (<<) are not supported; write the fields out")
		}
		if seen[k.Value] {
			return specError(k, "key %q appears twice in one mapping", k.Value)
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	default:
		return "something else"
	}
}
