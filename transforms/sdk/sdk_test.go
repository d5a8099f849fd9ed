package sdk

import (
	"reflect"
	"strings"
	"testing"
)

// The SDK's logic that needs no host runs here; the kinds themselves run
// end to end through the engine in transforms/.

func TestTransformsSDKPayload(t *testing.T) {
	cases := []Record{
		{},
		{Key: []byte{}, Value: []byte{}, Headers: []Header{}},
		{Key: []byte("k"), Value: []byte(strings.Repeat("v", 200)), Headers: []Header{{Key: "a", Value: nil}, {Key: "b", Value: []byte("1")}}},
	}
	for i, r := range cases {
		var got Record
		if err := decodePayload(appendPayload(nil, &r), &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if len(r.Headers) == 0 {
			r.Headers = got.Headers[:0]
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("case %d: got %+v, want %+v", i, got, r)
		}
	}
	for _, bad := range [][]byte{nil, {0x03}, {0x04, 'a'}, {0x01, 0x01}, {0x01, 0x01, 0x01}, {0x01, 0x01, 0x02}, {0x01, 0x01, 0x00, 0x00}} {
		var r Record
		if err := decodePayload(bad, &r); err == nil {
			t.Errorf("payload %x accepted", bad)
		}
	}
}

func TestTransformsSDKParams(t *testing.T) {
	t.Setenv("REDPANDA_INPUT_TOPIC", "in")
	t.Setenv("REDPANDA_OUTPUT_TOPIC_0", "a")
	t.Setenv("REDPANDA_OUTPUT_TOPIC_1", "b")
	t.Setenv("skiff_test_spec", `{"x":1}`)
	t.Setenv(DescribeEnv, "1")
	if p := Params(); p["skiff_test_spec"] != `{"x":1}` || p["REDPANDA_INPUT_TOPIC"] != "" || p["REDPANDA_OUTPUT_TOPIC_0"] != "" || p[DescribeEnv] != "" {
		t.Errorf("Params() = %v", p)
	}
	if v, ok := Param("skiff_test_spec"); !ok || v != `{"x":1}` {
		t.Errorf("Param = %q, %v", v, ok)
	}
	if _, ok := Param("REDPANDA_INPUT_TOPIC"); ok {
		t.Error("a topic variable is a parameter")
	}
	if InputTopic() != "in" || !reflect.DeepEqual(OutputTopics(), []string{"a", "b"}) {
		t.Errorf("topics %q %q", InputTopic(), OutputTopics())
	}
}
