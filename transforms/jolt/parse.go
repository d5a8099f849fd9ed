package jolt

import (
	"strconv"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects ParseJSON accepts.
// It bounds the stack a document can make the parser (and the transform
// after it) use, which matters inside a WebAssembly module with a small
// memory limit.
const MaxDepth = 1000

// SyntaxError is the error of ParseJSON on text that is not JSON.
type SyntaxError struct {
	Offset int // byte offset of the error
	msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.msg
}

// ParseJSON parses one JSON document (RFC 8259: UTF-8, any value at the
// top, white space around it). Keys and scalars of the result alias one
// string copy of data, so data may change afterwards.
func ParseJSON(data []byte) (Value, error) {
	return parseJSON(string(data))
}

// parsers keeps parsers for their scratch space.
var parsers = sync.Pool{New: func() any { return new(parser) }}

func parseJSON(s string) (Value, error) {
	p := parsers.Get().(*parser)
	defer func() {
		clear(p.scratch[:cap(p.scratch)])
		*p = parser{scratch: p.scratch[:0]}
		parsers.Put(p)
	}()
	p.s = s
	p.space()
	v, err := p.value()
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.pos != len(p.s) {
		return Value{}, p.fail("text after the JSON value")
	}
	return v, nil
}

type parser struct {
	s     string
	pos   int
	depth int
	// scratch collects the members of the containers being parsed, so
	// that each container's slice is taken once, at its final size, from
	// slab: a document's containers share a few allocations.
	scratch []Member
	slab    []Member
}

// slabSize is the least number of members allocated at once.
const slabSize = 32

// take returns a slice of n members cut from the slab, its capacity
// clipped so that appending to it copies.
func (p *parser) take(n int) []Member {
	if n > len(p.slab) {
		p.slab = make([]Member, max(n, slabSize))
	}
	s := p.slab[:n:n]
	p.slab = p.slab[n:]
	return s
}

func (p *parser) fail(msg string) error { return &SyntaxError{Offset: p.pos, msg: msg} }

func (p *parser) space() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (Value, error) {
	if p.pos >= len(p.s) {
		return Value{}, p.fail("unexpected end of input")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.container(Object, '}')
	case c == '[':
		return p.container(Array, ']')
	case c == '"':
		raw, _, err := p.str()
		return Value{kind: String, raw: raw}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.word("true", Bool)
	case c == 'f':
		return p.word("false", Bool)
	case c == 'n':
		return p.word("null", Null)
	}
	return Value{}, p.fail("expected a value, found " + strconv.QuoteRune(rune(p.s[p.pos])))
}

func (p *parser) word(w string, k Kind) (Value, error) {
	if len(p.s)-p.pos < len(w) || p.s[p.pos:p.pos+len(w)] != w {
		return Value{}, p.fail("expected " + w)
	}
	p.pos += len(w)
	v := Value{kind: k}
	if k != Null {
		v.raw = w
	}
	return v, nil
}

func (p *parser) container(k Kind, end byte) (Value, error) {
	if p.depth++; p.depth > MaxDepth {
		return Value{}, p.fail("nested deeper than " + strconv.Itoa(MaxDepth))
	}
	p.pos++ // the opening bracket
	base := len(p.scratch)
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == end {
		p.pos++
		p.depth--
		return Value{kind: k, members: []Member{}}, nil
	}
	for {
		var m Member
		if k == Object {
			if p.pos >= len(p.s) || p.s[p.pos] != '"' {
				return Value{}, p.fail("expected a member name in quotes")
			}
			raw, escaped, err := p.str()
			if err != nil {
				return Value{}, err
			}
			m.Key = raw[1 : len(raw)-1]
			if escaped {
				m.Key, _ = unquote(raw)
			}
			p.space()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return Value{}, p.fail("expected ':' after a member name")
			}
			p.pos++
			p.space()
		}
		v, err := p.value()
		if err != nil {
			return Value{}, err
		}
		m.Value = v
		p.scratch = append(p.scratch, m)
		p.space()
		if p.pos >= len(p.s) {
			return Value{}, p.fail("unexpected end of input")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			p.space()
			continue
		case end:
			p.pos++
			p.depth--
			members := p.take(len(p.scratch) - base)
			copy(members, p.scratch[base:])
			p.scratch = p.scratch[:base] // cleared when the document is done

			return Value{kind: k, members: members}, nil
		}
		return Value{}, p.fail("expected ',' or " + strconv.QuoteRune(rune(end)))
	}
}

// str scans a string and returns its raw text, quotes included, and whether
// it holds escapes.
func (p *parser) str() (raw string, escaped bool, err error) {
	start := p.pos
	p.pos++
	ascii := true
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			raw = p.s[start:p.pos]
			if !ascii && !utf8.ValidString(raw) {
				p.pos = start
				return "", false, p.fail("string is not valid UTF-8")
			}
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			if p.pos+1 >= len(p.s) {
				p.pos++
				return "", false, p.fail("unexpected end of input")
			}
			switch p.s[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				if len(p.s)-p.pos < 6 || !isHex4(p.s[p.pos+2:p.pos+6]) {
					return "", false, p.fail(`bad \u escape`)
				}
				p.pos += 6
			default:
				return "", false, p.fail("bad escape in string")
			}
		case c < 0x20:
			return "", false, p.fail("control character in string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			p.pos++
		}
	}
	return "", false, p.fail("unexpected end of input in string")
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// number scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() (Value, error) {
	start := p.pos
	if p.s[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.s) && p.s[p.pos] == '0':
		p.pos++
	case p.digits() == 0:
		return Value{}, p.fail("expected a digit")
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return Value{}, p.fail("expected a digit after '.'")
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return Value{}, p.fail("expected a digit in the exponent")
		}
	}
	return Value{kind: Number, raw: p.s[start:p.pos]}, nil
}

func (p *parser) digits() int {
	n := 0
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}

// unquote decodes the raw text of a valid JSON string. A lone surrogate
// escape becomes U+FFFD, as encoding/json does.
func unquote(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	i := 0
	for i < len(s) && s[i] != '\\' {
		i++
	}
	if i == len(s) {
		return s, true
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n := decodeU(s[i:])
			if n == 0 {
				return "", false
			}
			b = utf8.AppendRune(b, r)
			i += n
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(b), true
}

// decodeU decodes a \uXXXX escape at the start of s, or a surrogate pair
// of two, and returns the rune and the bytes read (0 if malformed).
func decodeU(s string) (rune, int) {
	if len(s) < 6 || !isHex4(s[2:6]) {
		return 0, 0
	}
	r := rune(hex4(s[2:6]))
	if r < 0xD800 || r > 0xDFFF {
		return r, 6
	}
	if r < 0xDC00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && isHex4(s[8:12]) {
		if lo := rune(hex4(s[8:12])); lo >= 0xDC00 && lo <= 0xDFFF {
			return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12
		}
	}
	return utf8.RuneError, 6
}

func hex4(s string) int {
	return hexVal(s[0])<<12 | hexVal(s[1])<<8 | hexVal(s[2])<<4 | hexVal(s[3])
}
