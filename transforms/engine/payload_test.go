package engine

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffstream/skiff/protocol"
)

func TestTransformsPayloadRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300) // two-byte varint lengths
	cases := []protocol.Record{
		{},
		{Key: []byte{}, Value: []byte{}},
		{Key: []byte("k"), Value: []byte("v")},
		{Key: long, Value: long, Headers: []protocol.RecordHeader{{Key: "a", Value: nil}, {Key: "", Value: []byte{}}, {Key: string(long), Value: long}}},
	}
	for i, r := range cases {
		b := appendPayload(nil, &r)
		if len(b) != payloadSize(&r) {
			t.Errorf("case %d: size %d, payloadSize %d", i, len(b), payloadSize(&r))
		}
		// The payload is the tail of AppendRecord's encoding.
		full := protocol.AppendRecord(nil, r)
		if !bytes.HasSuffix(full, b) {
			t.Errorf("case %d: payload %x is not the tail of the record %x", i, b, full)
		}
		var got protocol.Record
		if err := parsePayload(b, &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("case %d: got %+v, want %+v", i, got, r)
		}
	}
}

func TestTransformsPayloadErrors(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "key length: payload ends early"},
		{"key below -1", []byte{0x03}, "key length -2 is below -1"},
		{"key too long", []byte{0x04, 'a'}, "key length 2 does not fit"},
		{"no value", []byte{0x01}, "value length: payload ends early"},
		{"no header count", []byte{0x01, 0x01}, "header count: payload ends early"},
		{"negative header count", []byte{0x01, 0x01, 0x01}, "negative header count -1"},
		{"header count too large", []byte{0x01, 0x01, 0x10, 0x00}, "header count 8 does not fit"},
		{"null header key", []byte{0x01, 0x01, 0x02, 0x01, 0x01}, "header 0 has a null key"},
		{"left over", []byte{0x01, 0x01, 0x00, 0x00}, "1 bytes left over"},
		{"varint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "varint overflows"},
		{"int32 overflow", []byte{0x80, 0x80, 0x80, 0x80, 0x20}, "overflows an int32"},
	}
	for _, c := range cases {
		var r protocol.Record
		err := parsePayload(c.payload, &r)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// FuzzPayload checks, for any bytes a module may write: parsePayload never
// panics; what it accepts re-encodes to the same bytes (the encoding is
// canonical for lengths that are minimal varints) or at least parses to the
// same record; and its allocation is bounded by the input.
func FuzzPayload(f *testing.F) {
	f.Add([]byte{0x01, 0x01, 0x00})
	f.Add(appendPayload(nil, &probeRecord))
	f.Add([]byte{0x01, 0x01, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r protocol.Record
		if err := parsePayload(b, &r); err != nil {
			return
		}
		if len(r.Headers) > len(b)/2 {
			t.Fatalf("%d headers from %d bytes", len(r.Headers), len(b))
		}
		again := appendPayload(nil, &r)
		var r2 protocol.Record
		if err := parsePayload(again, &r2); err != nil {
			t.Fatalf("re-encoded payload does not parse: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record: %+v vs %+v", r, r2)
		}
		if len(again) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(again))
		}
	})
}

// FuzzOptions checks that parseOptions never panics and accepts only
// well-formed options.
func FuzzOptions(f *testing.F) {
	f.Add(optSecond)
	f.Add(optBad)
	f.Fuzz(func(t *testing.T, b []byte) {
		topic, err := parseOptions(b)
		if err == nil && len(b) > 0 && b[0] != 0x01 {
			t.Fatalf("accepted options starting with tag %#x", b[0])
		}
		if len(topic) > len(b) {
			t.Fatalf("topic of %d bytes from %d", len(topic), len(b))
		}
	})
}
