package jolt

import (
	"errors"
	"strconv"
	"strings"
)

// maxIndex bounds an array index in an output path: a bigger one would
// make a shift pad the array with that many nulls.
const maxIndex = 1 << 18

// outPath is a shift output path: "data.id", "" (the root), "items[]",
// "photos[&1].url", "&1.&", "rating-&(1,1)".
type outPath struct {
	text  string // as written in the spec
	steps []outStep
}

// outStep is one step down the output document: to a member of an object
// (key) or to an item of an array (index).
type outStep struct {
	index  bool
	append bool    // "[]": a new item at the end
	fixed  int     // "[N]"
	key    keyText // the member name, or with index, the reference of "[&N]"
}

// keyText is a member name made of literal text and references, resolved
// for each record.
type keyText []keyPart

type keyPart struct {
	lit string
	ref ref // when kind != refNone
}

type refKind uint8

const (
	refNone refKind = iota
	refAmp          // &(up,group): a key matched up levels above
	refAt           // @(up,path): a value found from up levels above
)

// ref names a matched key or a value of the input by levels counted up
// from the current one.
type ref struct {
	kind  refKind
	up    int
	group int    // refAmp: 0 the whole key, N the Nth star's match
	path  string // refAt: dot path below that level's value
}

func parseOutPath(text string) (outPath, error) {
	p := outPath{text: text}
	if text == "" {
		return p, nil // the root
	}
	segs, err := splitPath(text)
	if err != nil {
		return p, err
	}
	for _, seg := range segs {
		name, brackets, _ := cutBrackets(seg)
		if name == "" && brackets == "" {
			return p, errors.New("empty name between dots")
		}
		if name != "" {
			key, err := parseKeyText(name)
			if err != nil {
				return p, err
			}
			p.steps = append(p.steps, outStep{key: key})
		}
		for brackets != "" {
			end := strings.IndexByte(brackets, ']')
			if brackets[0] != '[' || end < 0 {
				return p, errors.New("expected [], [N] or [&N] after a name, found " + strconv.Quote(brackets))
			}
			st, err := parseIndex(brackets[1:end])
			if err != nil {
				return p, err
			}
			p.steps = append(p.steps, st)
			brackets = brackets[end+1:]
		}
	}
	return p, nil
}

// splitPath splits at the dots that are not escaped and not inside
// parentheses (as in "@(1,a.b)").
func splitPath(s string) ([]string, error) {
	var segs []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return nil, errors.New("unbalanced ')'")
			}
		case '.':
			if depth == 0 {
				segs = append(segs, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced '('")
	}
	return append(segs, s[start:]), nil
}

// cutBrackets splits a segment at its first unescaped '[' outside
// parentheses.
func cutBrackets(seg string) (name, brackets string, ok bool) {
	depth := 0
	for i := 0; i < len(seg); i++ {
		switch seg[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case '[':
			if depth == 0 {
				return seg[:i], seg[i:], true
			}
		}
	}
	return seg, "", false
}

func parseIndex(s string) (outStep, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return outStep{index: true, append: true}, nil
	case s[0] == '&':
		r, n, err := parseRef(s, '&')
		if err != nil {
			return outStep{}, err
		}
		if n != len(s) {
			return outStep{}, errors.New("unexpected " + strconv.Quote(s[n:]) + " in [" + s + "]")
		}
		return outStep{index: true, key: keyText{{ref: r}}}, nil
	}
	i, ok := arrayIndex(s)
	if !ok || i > maxIndex {
		return outStep{}, errors.New("array index [" + s + "]: use [], [&N] or a number from 0 to " + strconv.Itoa(maxIndex))
	}
	return outStep{index: true, fixed: i}, nil
}

// parseKeyText parses a member name: literal text with &-references and
// @(N,path) values in it (whose text becomes part of the name).
func parseKeyText(s string) (keyText, error) {
	var (
		k   keyText
		lit strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			k = append(k, keyPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("ends with a lone '\\'")
			}
			lit.WriteByte(s[i+1])
			i += 2
		case '&', '@':
			if c == '@' && (i+1 == len(s) || s[i+1] != '(') {
				// Only "@(N,path)" is a value in an output path; a bare
				// '@' is text, as in "by@".
				lit.WriteByte(c)
				i++
				continue
			}
			r, n, err := parseRef(s[i:], c)
			if err != nil {
				return nil, err
			}
			flush()
			k = append(k, keyPart{ref: r})
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return k, nil
}

// parseRef parses a reference at the start of s and returns it and its
// length: for '&': "&", "&N", "&(N)", "&(N,M)"; for '@' (a value):
// "@", "@N", "@(N)", "@(N,path)"; for '$' (a matched key as a value):
// "$", "$N", "$(N)", "$(N,M)".
func parseRef(s string, sigil byte) (ref, int, error) {
	r := ref{kind: refAmp}
	if sigil == '@' {
		r.kind = refAt
	}
	i := 1
	switch {
	case i < len(s) && s[i] >= '0' && s[i] <= '9':
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		r.up, _ = strconv.Atoi(s[start:i])
	case i < len(s) && s[i] == '(':
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return r, 0, errors.New(string(sigil) + "( without ')'")
		}
		first, second, two := strings.Cut(s[i+1:end], ",")
		n, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil || n < 0 {
			return r, 0, errors.New("in " + s[:end+1] + ": " + strconv.Quote(first) + " is not a level number")
		}
		r.up = n
		if two {
			second = strings.TrimSpace(second)
			if sigil == '@' {
				r.path = second
			} else if r.group, err = strconv.Atoi(second); err != nil || r.group < 0 {
				return r, 0, errors.New("in " + s[:end+1] + ": " + strconv.Quote(second) + " is not a match group number")
			}
		}
		i = end + 1
	}
	return r, i, nil
}

// shiftErr reports a failed write of a shift.
func shiftErr(p *outPath, msg string) error {
	return errors.New("shift to " + strconv.Quote(p.text) + ": " + msg)
}
