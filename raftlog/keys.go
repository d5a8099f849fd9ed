package raftlog

import "encoding/binary"

// Key kinds, the byte after the group id. See doc.go for the layout.
const (
	kindLog      = 'l'
	kindStable   = 's'
	kindOffset   = 'o'
	kindMeta     = 'm'
	kindProducer = 'p'
	kindCtrl     = 'c'
)

// groupPrefix returns group | kind.
func groupPrefix(group uint64, kind byte) []byte {
	k := make([]byte, 9, 17)
	binary.BigEndian.PutUint64(k, group)
	k[8] = kind
	return k
}

// groupKey returns group | kind | n (big-endian), ordered by n.
func groupKey(group uint64, kind byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(groupPrefix(group, kind), n)
}

// appendGroupKey is groupKey into dst, for loops that reuse a buffer.
func appendGroupKey(dst []byte, group uint64, kind byte, n uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst[:0], group)
	dst = append(dst, kind)
	return binary.BigEndian.AppendUint64(dst, n)
}

// groupKeyName returns group | kind | name.
func groupKeyName(group uint64, kind byte, name string) []byte {
	return append(groupPrefix(group, kind), name...)
}

// keySuffix reads the trailing big-endian uint64 of a key.
func keySuffix(k []byte) uint64 {
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

// groupBounds returns [group, group+1): every key of one group.
func groupBounds(group uint64) (lo, hi []byte) {
	lo = binary.BigEndian.AppendUint64(nil, group)
	hi = binary.BigEndian.AppendUint64(nil, group+1)
	return lo, hi
}
