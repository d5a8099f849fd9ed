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
	p.a = &p.heap
	v, err := p.parse(s)
	p.reset()
	parsers.Put(p)
	return v, err
}

func (p *parser) parse(s string) (Value, error) {
	p.s, p.pos, p.depth = s, 0, 0
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

// reset drops what p refers to of the last document.
func (p *parser) reset() {
	clear(p.scratch[:cap(p.scratch)])
	p.scratch = p.scratch[:0]
	p.s = ""
}

type parser struct {
	s     string
	pos   int
	depth int
	// scratch collects the members of the containers being parsed, so
	// that each container's slice is taken once, at its final size, from
	// the arena a.
	scratch []Member
	a       *arena
	heap    arena // a plain arena, for ParseJSON
}

func (p *parser) fail(msg string) error { return &SyntaxError{Offset: p.pos, msg: msg} }

// The scanning loops below work on local copies of p.s and p.pos: in
// WebAssembly (where the jolt module runs), a loop over fields of *p runs
// several times slower than one over locals.

func (p *parser) space() {
	s, i := p.s, p.pos
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	p.pos = i
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
		key := ""
		if k == Object {
			if p.pos >= len(p.s) || p.s[p.pos] != '"' {
				return Value{}, p.fail("expected a member name in quotes")
			}
			raw, escaped, err := p.str()
			if err != nil {
				return Value{}, err
			}
			key = raw[1 : len(raw)-1]
			if escaped {
				key, _ = unquote(raw)
			}
			p.space()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return Value{}, p.fail("expected ':' after a member name")
			}
			p.pos++
			p.space()
		}
		// The kinds are told apart here rather than in value: in
		// WebAssembly a call through value costs as much as scanning a
		// short string.
		var (
			v   Value
			err error
		)
		if p.pos >= len(p.s) {
			return Value{}, p.fail("unexpected end of input")
		}
		switch c := p.s[p.pos]; {
		case c == '"':
			v.kind = String
			v.raw, _, err = p.str()
		case c == '-' || (c >= '0' && c <= '9'):
			v, err = p.number()
		case c == '{':
			v, err = p.container(Object, '}')
		case c == '[':
			v, err = p.container(Array, ']')
		default:
			v, err = p.value()
		}
		if err != nil {
			return Value{}, err
		}
		p.scratch = append(p.scratch, Member{Key: key, Value: v})
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
			n := len(p.scratch) - base
			members := p.a.take(n, n)
			copy(members, p.scratch[base:])
			p.scratch = p.scratch[:base] // cleared when the document is done

			return Value{kind: k, members: members}, nil
		}
		return Value{}, p.fail("expected ',' or " + strconv.QuoteRune(rune(end)))
	}
}

// strClass sorts the bytes of a string's text: 0 plain ASCII, 1 the
// closing quote, 2 a backslash, 3 a control character, 4 not ASCII.
var strClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 3
	}
	t['"'], t['\\'] = 1, 2
	for c := 0x80; c < 256; c++ {
		t[c] = 4
	}
	return t
}()

// str scans a string and returns its raw text, quotes included, and whether
// it holds escapes.
func (p *parser) str() (raw string, escaped bool, err error) {
	s, start := p.s, p.pos
	i := start + 1
	ascii := true
	for i < len(s) {
		switch strClass[s[i]] {
		case 0:
			i++
		case 1:
			i++
			p.pos = i
			raw = s[start:i]
			if !ascii && !utf8.ValidString(raw) {
				p.pos = start
				return "", false, p.fail("string is not valid UTF-8")
			}
			return raw, escaped, nil
		case 2:
			escaped = true
			if i+1 >= len(s) {
				p.pos = i + 1
				return "", false, p.fail("unexpected end of input")
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(s)-i < 6 || !isHex4(s[i+2:i+6]) {
					p.pos = i
					return "", false, p.fail(`bad \u escape`)
				}
				i += 6
			default:
				p.pos = i
				return "", false, p.fail("bad escape in string")
			}
		case 3:
			p.pos = i
			return "", false, p.fail("control character in string")
		default:
			ascii = false
			i++
		}
	}
	p.pos = i
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
	end, msg := scanNumber(p.s, start)
	if msg != "" {
		p.pos = end
		return Value{}, p.fail(msg)
	}
	p.pos = end
	return Value{kind: Number, raw: p.s[start:end]}, nil
}

// scanNumber returns the end of the number at s[i:], or where it is wrong
// and why. It works on locals only, for speed in WebAssembly.
func scanNumber(s string, i int) (int, string) {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return i, "expected a digit"
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return i, "expected a digit after '.'"
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return i, "expected a digit in the exponent"
		}
	}
	return i, ""
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
