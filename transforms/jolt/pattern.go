package jolt

import (
	"errors"
	"strings"
)

// keyPattern matches input keys: alternatives separated by '|', each a
// glob in which '*' matches any run of characters (captured, for &(N,M)
// in output paths). '\' escapes the next character.
type keyPattern struct {
	alts []glob
	// literal is set when no alternative has a star: the pattern is a set
	// of exact keys.
	literal bool
	// stars is the largest number of stars of an alternative.
	stars int
	// specificity orders the patterns of one spec level: the more literal
	// characters, the earlier a pattern is tried; a lone "*" comes last.
	specificity int
}

// glob is one alternative: the literal parts around its stars (one more
// part than stars).
type glob struct {
	parts []string
}

func parsePattern(key string) (keyPattern, error) {
	var (
		p     = keyPattern{literal: true}
		parts []string
		b     strings.Builder
	)
	endAlt := func() {
		parts = append(parts, b.String())
		b.Reset()
		p.alts = append(p.alts, glob{parts: parts})
		if n := len(parts) - 1; n > p.stars {
			p.stars = n
		}
		parts = nil
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '\\':
			if i+1 == len(key) {
				return p, errors.New("ends with a lone '\\'")
			}
			i++
			b.WriteByte(key[i])
			p.specificity++
		case '*':
			parts = append(parts, b.String())
			b.Reset()
			p.literal = false
		case '|':
			endAlt()
		case '&':
			return p, errors.New("'&' is not supported on the left side (input keys); escape it as '\\\\&' to match a literal '&'")
		default:
			b.WriteByte(c)
			p.specificity++
		}
	}
	endAlt()
	return p, nil
}

// match reports whether key matches one of the alternatives, and appends
// what its stars matched to caps.
func (p *keyPattern) match(key string, caps []string) ([]string, bool) {
	for i := range p.alts {
		if out, ok := p.alts[i].match(key, caps); ok {
			return out, true
		}
	}
	return caps, false
}

// match matches key against g, each star taking the shortest run that lets
// the rest match (the first occurrence of the next literal part), as the
// non-greedy groups of Java Jolt do.
func (g *glob) match(key string, caps []string) ([]string, bool) {
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(g.parts) == 1 {
		return caps, key == first
	}
	if len(key) < len(first)+len(last) || !strings.HasPrefix(key, first) || !strings.HasSuffix(key, last) {
		return caps, false
	}
	n := len(caps)
	rest := key[len(first) : len(key)-len(last)]
	for _, part := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return caps[:n], false
		}
		caps = append(caps, rest[:i])
		rest = rest[i+len(part):]
	}
	return append(caps, rest), true
}
