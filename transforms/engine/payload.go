package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/skiffstream/skiff/protocol"
)

// A record crosses the host/guest boundary as its payload: the tail of a
// Kafka v2 record (https://kafka.apache.org/documentation/#record) after the
// offset delta, that is
//
//	keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
//	headerCount varint, then per header:
//	  headerKeyLength varint, headerKey, headerValueLength varint (-1 = null), headerValue
//
// with zigzag varints, as Kafka encodes them.

// payloadSize and appendPayload are protocol's record payload codec; the
// decoder below is the engine's own because it must name what a hostile
// module got wrong.
func payloadSize(r *protocol.Record) int { return protocol.RecordPayloadSize(r) }

func appendPayload(dst []byte, r *protocol.Record) []byte {
	return protocol.AppendRecordPayload(dst, r)
}

var errPayloadShort = errors.New("payload ends early")

// parsePayload decodes a payload into r's Key, Value and Headers, which
// alias b. All of b must be used. It never panics, whatever b holds.
func parsePayload(b []byte, r *protocol.Record) error {
	p := payloadReader{b: b}
	r.Key = p.bytes("key")
	r.Value = p.bytes("value")
	count := p.length("header count", "")
	if p.err == nil && count < 0 {
		p.err = fmt.Errorf("negative header count %d", count)
	}
	r.Headers = nil
	if p.err == nil && count > 0 {
		// A header takes at least two bytes; bound the allocation by what
		// is left rather than by the count the module claims.
		if int64(count) > int64(len(p.b)/2) {
			return fmt.Errorf("header count %d does not fit the %d bytes left", count, len(p.b))
		}
		r.Headers = make([]protocol.RecordHeader, 0, count)
	}
	for i := int64(0); i < count && p.err == nil; i++ {
		key := p.bytes("header key")
		if p.err == nil && key == nil {
			return fmt.Errorf("header %d has a null key", i)
		}
		value := p.bytes("header value")
		if p.err == nil {
			r.Headers = append(r.Headers, protocol.RecordHeader{Key: string(key), Value: value})
		}
	}
	if p.err != nil {
		return p.err
	}
	if len(p.b) != 0 {
		return fmt.Errorf("%d bytes left over after the headers", len(p.b))
	}
	return nil
}

type payloadReader struct {
	b   []byte
	err error
}

// length reads a zigzag varint that must fit in an int32. what (and
// suffix) name it in errors; they are not concatenated up front, so that
// the happy path does not allocate.
func (p *payloadReader) length(what, suffix string) int64 {
	if p.err != nil {
		return 0
	}
	v, n := binary.Varint(p.b)
	switch {
	case n == 0:
		p.err = fmt.Errorf("%s%s: %w", what, suffix, errPayloadShort)
		return 0
	case n < 0 || v < math.MinInt32 || v > math.MaxInt32:
		p.err = fmt.Errorf("%s%s: varint overflows an int32", what, suffix)
		return 0
	}
	p.b = p.b[n:]
	return v
}

// bytes reads a length-prefixed byte string; length -1 is null.
func (p *payloadReader) bytes(what string) []byte {
	l := p.length(what, " length")
	switch {
	case p.err != nil:
		return nil
	case l == -1:
		return nil
	case l < -1:
		p.err = fmt.Errorf("%s length %d is below -1", what, l)
		return nil
	case l > int64(len(p.b)):
		p.err = fmt.Errorf("%s length %d does not fit the %d bytes left", what, l, len(p.b))
		return nil
	}
	v := p.b[:l:l]
	p.b = p.b[l:]
	return v
}

// parseOptions decodes write_record_with_options options: a series of
// tagged entries. Tag 0x01 is the output topic, a zigzag varint length and
// the name. An empty options buffer means the default topic.
func parseOptions(b []byte) (topic string, err error) {
	p := payloadReader{b: b}
	for len(p.b) > 0 && p.err == nil {
		tag := p.b[0]
		p.b = p.b[1:]
		if tag != 0x01 {
			return "", fmt.Errorf("unknown option tag %#x", tag)
		}
		name := p.bytes("output topic")
		if p.err == nil && name == nil {
			return "", fmt.Errorf("output topic is null")
		}
		topic = string(name)
	}
	return topic, p.err
}
