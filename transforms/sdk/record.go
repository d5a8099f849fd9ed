package sdk

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"
)

// Record is one record of the input topic, or one to write.
//
// A record handed to a function is valid only during the call: Key, Value
// and header values alias a buffer the next record reuses. Copy what you
// keep. Returning the record, or a modified copy of it, keeps its key and
// headers; the engine keeps its timestamp.
type Record struct {
	Key     []byte // nil means null
	Value   []byte // nil means null (a tombstone)
	Headers []Header
	// Timestamp and Offset are those of the input record. They are ignored
	// on written records: every output takes the timestamp of the input
	// record it was written for.
	Timestamp time.Time
	Offset    int64
}

// Header is a record header. Its key is never null.
type Header struct {
	Key   string
	Value []byte // nil means null
}

// Header returns the value of the first header named key, and whether there
// is one.
func (r *Record) Header(key string) ([]byte, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

var errShort = errors.New("record payload ends early")

// decodePayload reads the key/value/headers tail of a Kafka record (zigzag
// varint lengths, -1 for null) into r, reusing r.Headers' array.
func decodePayload(b []byte, r *Record) error {
	var err error
	if r.Key, b, err = readBytes(b); err != nil {
		return err
	}
	if r.Value, b, err = readBytes(b); err != nil {
		return err
	}
	count, n := binary.Varint(b)
	if n <= 0 || count < 0 || count > int64(len(b)) {
		return errors.New("bad header count in record payload")
	}
	b = b[n:]
	r.Headers = r.Headers[:0]
	for range count {
		var k, v []byte
		if k, b, err = readBytes(b); err != nil {
			return err
		}
		if v, b, err = readBytes(b); err != nil {
			return err
		}
		r.Headers = append(r.Headers, Header{Key: string(k), Value: v})
	}
	if len(b) != 0 {
		return errors.New("record payload has " + strconv.Itoa(len(b)) + " bytes left over")
	}
	return nil
}

func readBytes(b []byte) ([]byte, []byte, error) {
	l, n := binary.Varint(b)
	if n <= 0 {
		return nil, nil, errShort
	}
	b = b[n:]
	if l == -1 {
		return nil, b, nil
	}
	if l < -1 || l > int64(len(b)) {
		return nil, nil, errShort
	}
	return b[:l:l], b[l:], nil
}

// appendPayload encodes r's key, value and headers.
func appendPayload(dst []byte, r *Record) []byte {
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}
