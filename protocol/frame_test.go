package protocol

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// frameOf builds a request frame the way a client does, with kmsg.
func frameOf(req kmsg.Request, corr int32, clientID string) []byte {
	f := &kmsg.RequestFormatter{}
	if clientID != "" {
		f = kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	}
	return f.AppendRequest(nil, req, corr)
}

func TestProtocolFrameRoundTrip(t *testing.T) {
	for _, v := range []int16{0, 3, 4} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName = "skiff-test"
		frame := frameOf(req, 42, "client-1")
		body, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame)), DefaultMaxRequestSize)
		if err != nil {
			t.Fatal(err)
		}
		h, parsed, rest, err := ParseRequestHeader(body)
		if err != nil || parsed == nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if h.Key != 18 || h.Version != v || h.CorrelationID != 42 || h.ClientID != "client-1" {
			t.Fatalf("v%d header %+v", v, h)
		}
		if err := parsed.ReadFrom(rest); err != nil {
			t.Fatalf("v%d body: %v", v, err)
		}
	}
}

func TestProtocolFrameLimits(t *testing.T) {
	var big [4]byte
	binary.BigEndian.PutUint32(big[:], 200<<20)
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(big[:])), DefaultMaxRequestSize); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	neg := []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(neg)), DefaultMaxRequestSize); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("negative size: %v", err)
	}
	trunc := []byte{0, 0, 0, 20, 1, 2, 3}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(trunc)), DefaultMaxRequestSize); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestProtocolResponseHeader(t *testing.T) {
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 3
	out := AppendResponse(nil, 7, av)
	// ApiVersions responses never carry header tagged fields.
	if got := out[8:]; !bytes.Equal(got, av.AppendTo(nil)) {
		t.Fatalf("ApiVersions v3 header has extra bytes")
	}
	md := kmsg.NewPtrMetadataResponse()
	md.Version = 12
	out = AppendResponse(nil, 7, md)
	if out[8] != 0 || int(binary.BigEndian.Uint32(out)) != len(out)-4 {
		t.Fatalf("flexible response header wrong")
	}
}

// FuzzRequestFrame feeds arbitrary bytes to the frame reader and header
// parser and then to kmsg. Invariants: nothing panics; a frame that
// ReadFrame accepts is exactly its size prefix long and within the limit;
// ParseRequestHeader never returns a body longer than the frame.
func FuzzRequestFrame(f *testing.F) {
	f.Add(frameOf(kmsg.NewPtrApiVersionsRequest(), 1, "c"))
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	f.Add(frameOf(md, 2, "x"))
	pr := kmsg.NewPtrProduceRequest()
	pr.Version = 9
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{1, 2, 3}}}}}
	f.Add(frameOf(pr, 3, ""))
	f.Add([]byte{0, 0, 0, 8, 0, 18, 0, 99, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		body, err := ReadFrame(bufio.NewReader(bytes.NewReader(in)), 1<<20)
		if err != nil {
			return
		}
		if len(body)+4 > len(in) || len(body) > 1<<20 {
			t.Fatalf("frame of %d bytes from %d input bytes", len(body), len(in))
		}
		_, req, rest, err := ParseRequestHeader(body)
		if err != nil {
			return
		}
		if len(rest) > len(body) {
			t.Fatal("body longer than frame")
		}
		if req != nil {
			_ = req.ReadFrom(rest)
		}
	})
}

// TestPooledFrames: ReadPooledFrame reads what ReadFrame reads, whatever
// the recycled buffer held before; PutBuffer takes back only its own
// buffers.
func TestPooledFrames(t *testing.T) {
	frame := func(body string) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	for _, body := range []string{"0123456789", strings.Repeat("a", 5000), strings.Repeat("b", 4096), "abcdefgh"} {
		got, err := ReadPooledFrame(bufio.NewReader(bytes.NewReader(frame(body))), DefaultMaxRequestSize)
		if err != nil || string(got) != body {
			t.Fatalf("read %q: %q, %v", body[:8], got, err)
		}
		if c := cap(got); c&(c-1) != 0 || c < 4096 {
			t.Fatalf("capacity %d is not a pool class", c)
		}
		for i := range got {
			got[i] = 'x' // what the next reader must not see
		}
		PutBuffer(got)
	}
	for _, n := range []int{1, 4096, 4097, 1 << 20, 16 << 20} {
		b := GetBuffer(n)
		if len(b) != n || cap(b) < n || cap(b) > max(2*n, 4096) {
			t.Errorf("GetBuffer(%d): len %d cap %d", n, len(b), cap(b))
		}
		PutBuffer(b)
	}
	if b := GetBuffer(16<<20 + 1); cap(b) != 16<<20+1 {
		t.Errorf("a frame over 16 MiB is not pooled: cap %d", cap(b))
	}
	// Foreign buffers are ignored: a capacity that is not a class.
	PutBuffer(make([]byte, 5000))
	PutBuffer(nil)
	for range 10 {
		if b := GetBuffer(4500); cap(b) != 8192 {
			t.Fatalf("got a foreign buffer back: cap %d", cap(b))
		}
	}
}
