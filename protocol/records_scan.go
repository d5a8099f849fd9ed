package protocol

import "fmt"

// This file holds the produce hot path's record walker: it checks an
// uncompressed records section without allocating and without building
// Records. It must accept exactly what readRecord accepts; on a failure it
// asks readRecord for the error message, which keeps this path lean.
// FuzzParseRecords checks that the two agree.

// checkRecords checks that data holds exactly n well-formed records with
// offset deltas 0..n-1.
func checkRecords(data []byte, n int32) error {
	for i := range n {
		if len(data) == 0 {
			return fmt.Errorf("%w: batch declares %d records but holds %d", ErrInvalidRecord, n, i)
		}
		size, delta, ok := scanRecord(data)
		if !ok {
			return fmt.Errorf("%w: record %d: %v", ErrInvalidRecord, i, recordError(data))
		}
		if delta != i {
			return fmt.Errorf("%w: record %d has offset delta %d, want %d", ErrInvalidRecord, i, delta, i)
		}
		data = data[size:]
	}
	if len(data) != 0 {
		return fmt.Errorf("%w: %d bytes left over after the %d records the batch declares", ErrInvalidRecord, len(data), n)
	}
	return nil
}

// recordError explains why the record at the start of b does not parse.
func recordError(b []byte) error {
	var r Record
	if _, err := readRecord(b, &r, false); err != nil {
		return err
	}
	return fmt.Errorf("malformed record") // unreachable while the walkers agree
}

// scanRecord walks the length-prefixed record at the start of b and returns
// its encoded size and offset delta. The one-byte varint case is spelled out
// inline: most fields of a typical record are small.
func scanRecord(b []byte) (size int, offsetDelta int32, ok bool) {
	var v int32
	p := 0
	if len(b) > 0 && b[0] < 0x80 {
		v, p = int32(b[0]>>1)^-int32(b[0]&1), 1
	} else if v, p = varint32At(b, 0); p < 0 {
		return 0, 0, false
	}
	if v < 1 || int(v) > len(b)-p { // at least the attributes
		return 0, 0, false
	}
	end := p + int(v)
	b = b[:end]
	if p = skipVarint64(b, p+1); p < 0 { // attributes, timestamp delta
		return 0, 0, false
	}
	if p < end && b[p] < 0x80 {
		offsetDelta, p = int32(b[p]>>1)^-int32(b[p]&1), p+1
	} else if offsetDelta, p = varint32At(b, p); p < 0 {
		return 0, 0, false
	}
	// Key and value, then the header count (no data, minimum 0).
	for field := 0; field < 3; field++ {
		if p < end && b[p] < 0x80 {
			v, p = int32(b[p]>>1)^-int32(b[p]&1), p+1
		} else if v, p = varint32At(b, p); p < 0 {
			return 0, 0, false
		}
		if field == 2 {
			break
		}
		if v < -1 || int(v) > end-p {
			return 0, 0, false
		}
		p += max(int(v), 0)
	}
	for count := v; count != 0; count-- {
		if count < 0 {
			return 0, 0, false
		}
		if p = skipBytes(b, p, 0); p < 0 { // key, never null
			return 0, 0, false
		}
		if p = skipBytes(b, p, -1); p < 0 { // value
			return 0, 0, false
		}
	}
	return end, offsetDelta, p == end
}

// skipBytes skips a varint-length-prefixed byte string at b[p:] whose length
// may not be below minLen (-1 allows null). It returns the next position, or
// -1 if the string is malformed.
func skipBytes(b []byte, p int, minLen int32) int {
	l, p := varint32At(b, p)
	if p < 0 || l < minLen || int(l) > len(b)-p {
		return -1
	}
	return p + max(int(l), 0)
}

// varint32At decodes the zigzag varint at b[p:], which must fit in an int32,
// and returns it with the next position, or -1.
func varint32At(b []byte, p int) (int32, int) {
	if p >= len(b) {
		return 0, -1
	}
	if p+1 < len(b) && b[p+1] < 0x80 && b[p] >= 0x80 { // two bytes, the usual length
		x := uint32(b[p]&0x7f) | uint32(b[p+1])<<7
		return int32(x>>1) ^ -int32(x&1), p + 2
	}
	v, n := uvarint32(b[p:])
	if n <= 0 {
		return 0, -1
	}
	return v, p + n
}

// skipVarint64 skips the varint at b[p:], which must fit in 64 bits as
// binary.Uvarint requires, and returns the next position or -1.
func skipVarint64(b []byte, p int) int {
	if p < 0 {
		return -1
	}
	for i := 0; i < 10 && p+i < len(b); i++ {
		if c := b[p+i]; c < 0x80 {
			if i == 9 && c > 1 {
				return -1
			}
			return p + i + 1
		}
	}
	return -1
}
