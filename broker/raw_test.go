package broker

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func dialRaw(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// roundTrip writes a frame and reads one response frame (size included).
func roundTrip(t testing.TB, c net.Conn, frame []byte) []byte {
	t.Helper()
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	return append(size[:], body...)
}

// expectClosed checks that the broker closes the connection.
func expectClosed(t testing.TB, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := c.Read(b[:]); err == nil {
		t.Fatalf("%s: connection still open", what)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: connection not closed", what)
	}
}

// TestProtocolHostileFrames sends garbled, truncated and oversized frames:
// each closes its own connection and the broker keeps serving others.
func TestProtocolHostileFrames(t *testing.T) {
	tb := startTestBroker(t, "", func(c *Config) { c.MaxRequestSize = 1 << 20 })
	cases := map[string][]byte{
		"oversized":     {0x00, 0x20, 0x00, 0x00},
		"negative size": {0xff, 0xff, 0xff, 0xff},
		"tiny":          {0, 0, 0, 2, 0, 0},
		"unknown key":   {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 1, 0, 0, 0},
		"garbled body":  {0, 0, 0, 14, 0, 3, 0, 9, 0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff},
		"bad version":   {0, 0, 0, 10, 0, 0, 0x7f, 0, 0, 0, 0, 1, 0, 0},
	}
	for name, frame := range cases {
		c := dialRaw(t, tb.addr())
		c.Write(frame)
		expectClosed(t, c, name)
	}
	// Truncated: the size says more than is sent, then the client hangs up.
	c := dialRaw(t, tb.addr())
	c.Write([]byte{0, 0, 1, 0, 0, 18})
	c.Close()
	// The broker still answers.
	cl := newClient(t, tb.addr())
	createTopic(t, cl, "still-alive", 1)
}

// rawSend writes req at its version and decodes the response.
func rawSend(t testing.TB, c net.Conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, 1)
	body := roundTrip(t, c, frame)
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	skip := 8
	if resp.IsFlexible() && resp.Key() != 18 {
		skip = 9
	}
	if err := resp.ReadFrom(body[skip:]); err != nil {
		t.Fatal(err)
	}
	return resp
}
