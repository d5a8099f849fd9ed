package protocol

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultMaxRequestSize is Kafka's socket.request.max.bytes default (100 MiB).
const DefaultMaxRequestSize = 100 << 20

// ErrFrameTooLarge means a request's size prefix exceeds the limit: the
// connection is closed, as Kafka does.
var ErrFrameTooLarge = errors.New("request larger than socket.request.max.bytes")

// ErrBadHeader means a request header could not be parsed.
var ErrBadHeader = errors.New("malformed request header")

// ReadFrame reads one size-prefixed request from r. The returned slice is
// newly allocated and owned by the caller (request fields alias it).
func ReadFrame(r *bufio.Reader, maxSize int) ([]byte, error) {
	return readFrame(r, maxSize, func(n int) []byte { return make([]byte, n) })
}

// ReadPooledFrame is ReadFrame with the frame taken from the buffer pool
// (GetBuffer). The caller gives it back with PutBuffer once nothing refers
// to it any more (request fields alias it), or lets the garbage collector
// have it.
func ReadPooledFrame(r *bufio.Reader, maxSize int) ([]byte, error) {
	return readFrame(r, maxSize, GetBuffer)
}

func readFrame(r *bufio.Reader, maxSize int, alloc func(int) []byte) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || int(n) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrFrameTooLarge, n, maxSize)
	}
	if n < 8 {
		return nil, fmt.Errorf("%w: %d-byte request", ErrBadHeader, n)
	}
	buf := alloc(int(n))
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// Request frames, fetched record batches and response buffers come from a
// pool of recycled buffers, by power-of-two capacity from 4 KiB to 16 MiB;
// larger ones are rare and left to the garbage collector. A new buffer from
// make is zeroed, which for the ~1 MiB produce requests of a busy producer
// was 10% of the broker's CPU, and a response encoded into a buffer that
// grows as it goes is copied again at each doubling (35% of the CPU of
// consuming); a recycled buffer of the right size is neither.
const (
	minFrameShift = 12
	maxFrameShift = 24
)

var framePools [maxFrameShift - minFrameShift + 1]sync.Pool // of *[]byte

func frameClass(n int) int {
	return max(bits.Len(uint(n-1)), minFrameShift) - minFrameShift
}

// GetBuffer returns a buffer of length n from the pool (its contents are
// whatever it held before), or a new one. Give it back with PutBuffer.
func GetBuffer(n int) []byte {
	c := frameClass(n)
	if c >= len(framePools) {
		return make([]byte, n)
	}
	if p, _ := framePools[c].Get().(*[]byte); p != nil {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<(c+minFrameShift))
}

// PutBuffer gives a buffer from GetBuffer or ReadPooledFrame back for
// reuse; others are ignored. The caller must not use it, or anything that
// aliases it, afterwards.
func PutBuffer(b []byte) {
	c := frameClass(cap(b))
	if cap(b) == 0 || c >= len(framePools) || cap(b) != 1<<(c+minFrameShift) {
		return // not one of ours
	}
	b = b[:0]
	framePools[c].Put(&b)
}

// RequestHeader is the Kafka request header (v1, or v2 with tagged fields).
type RequestHeader struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string
}

// ParseRequestHeader splits a frame into its header and body. Whether the
// header carries tagged fields (v2) depends on the request's flexibility,
// which kmsg knows; an API key kmsg does not know is returned with a nil
// request so the caller can answer as Kafka does.
func ParseRequestHeader(frame []byte) (RequestHeader, kmsg.Request, []byte, error) {
	var h RequestHeader
	if len(frame) < 8 {
		return h, nil, nil, ErrBadHeader
	}
	h.Key = int16(binary.BigEndian.Uint16(frame))
	h.Version = int16(binary.BigEndian.Uint16(frame[2:]))
	h.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
	p := 8
	if len(frame) < p+2 {
		return h, nil, nil, ErrBadHeader
	}
	idLen := int(int16(binary.BigEndian.Uint16(frame[p:])))
	p += 2
	if idLen > 0 {
		if len(frame) < p+idLen {
			return h, nil, nil, ErrBadHeader
		}
		h.ClientID = string(frame[p : p+idLen])
		p += idLen
	}
	req := kmsg.RequestForKey(h.Key)
	if req == nil {
		return h, nil, frame[p:], nil
	}
	req.SetVersion(h.Version)
	if req.IsFlexible() {
		// Header v2 tagged fields: a count, then (tag, size, bytes)...
		r := kbinReader(frame[p:])
		n := r.uvarint()
		for i := uint64(0); i < n && r.ok; i++ {
			r.uvarint()
			r.skip(int(r.uvarint()))
		}
		if !r.ok {
			return h, nil, nil, ErrBadHeader
		}
		p = len(frame) - len(r.b)
	}
	return h, req, frame[p:], nil
}

// AppendResponse appends a complete response frame: size, correlation id,
// the response header's tagged fields where the response is flexible (never
// for ApiVersions, whose response header is always v0), and the body.
func AppendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if resp.IsFlexible() && resp.Key() != 18 {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// kbin is a tiny bounds-checked reader for the header's tagged fields.
type kbin struct {
	b  []byte
	ok bool
}

func kbinReader(b []byte) *kbin { return &kbin{b: b, ok: true} }

func (r *kbin) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.ok = false
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *kbin) skip(n int) {
	if n < 0 || n > len(r.b) {
		r.ok = false
		r.b = nil
		return
	}
	r.b = r.b[n:]
}
