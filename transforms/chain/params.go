package chain

import (
	"bytes"
	"encoding/json"
	"math"

	"gopkg.in/yaml.v3"
)

// maxParamDepth bounds the nesting of a parameter value, so that an alias
// that names its own ancestor cannot recurse forever.
const maxParamDepth = 64

// paramValue converts a `with:` value the way Fluvio does: a scalar is the
// string as written (nothing, `~` or `null` is the empty string), and a
// mapping or list is JSON text. The JSON keeps the keys in the order the
// YAML has them, so a module that cares about order (jolt's shift writes
// fields in spec order) sees what the author wrote.
func paramValue(n *yaml.Node) (string, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!null" {
			return "", nil
		}
		return n.Value, nil
	}
	var buf bytes.Buffer
	if err := appendJSON(&buf, n, 0); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// appendJSON writes n as JSON. Scalars keep their YAML type: numbers,
// booleans and null become JSON's; anything else (strings, timestamps) is
// a JSON string of the text as written.
func appendJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	n = resolve(n)
	if depth > maxParamDepth {
		return specError(n, "a parameter nests deeper than %d levels (an alias that includes itself?)", maxParamDepth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		first := true
		err := eachKey(n, func(k, v *yaml.Node) error {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			return appendJSON(buf, v, depth+1)
		})
		if err != nil {
			return err
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := appendJSON(buf, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		return appendScalar(buf, n)
	default:
		return specError(n, "a parameter value that is neither a scalar, a list nor a mapping")
	}
	return nil
}

func appendScalar(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return specError(n, "%v", err)
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return specError(n, "%s has no JSON form; quote it to pass it as a string", n.Value)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return specError(n, "%v", err)
		}
		buf.Write(b)
		return nil
	default:
		writeJSONString(buf, n.Value)
		return nil
	}
}

// writeJSONString writes s as a JSON string without escaping &, < and >
// (json.Marshal's HTML safety), so jolt's `&` paths read as written.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode's newline
}
