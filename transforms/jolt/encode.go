package jolt

import "unicode/utf8"

// AppendJSON appends v's compact JSON text to dst. Scalars come out as
// they were written in the input.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case Null, unset:
		return append(dst, "null"...)
	case Object:
		dst = append(dst, '{')
		for i := range v.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, v.members[i].Key)
			dst = append(dst, ':')
			dst = v.members[i].Value.AppendJSON(dst)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		for i := range v.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.members[i].Value.AppendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, v.raw...)
}

// String returns v's JSON text.
func (v Value) String() string { return string(v.AppendJSON(nil)) }

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output is always valid JSON.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += n
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
