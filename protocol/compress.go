package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is the compression codec of a record batch, the low three bits of its
// attributes.
type Codec int8

// The codecs Kafka defines. Values 5 to 7 are invalid.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

// String returns the codec's name as Kafka's compression.type spells it.
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

// ErrDecompressLimit is returned (wrapped) by Decompress and ParseRecords when
// the decompressed records would exceed the caller's limit: a guard against
// decompression bombs. Kafka has no direct equivalent; RECORD_TOO_LARGE
// tells the client what to do (send smaller batches).
var ErrDecompressLimit = errors.New("decompressed records exceed the size limit")

// Decompress returns src decompressed with c. It fails with an error wrapping
// ErrDecompressLimit if the output would exceed limit bytes (a negative limit
// counts as 0), without ever holding much more than limit bytes, and with one
// wrapping ErrCorruptBatch if src does not decompress. For CodecNone it
// returns src itself. Decoders are pooled, so concurrent calls are cheap.
//
// # Notes
//
//   - Snappy accepts a raw snappy block as well as the xerial framing that
//     the Java client and librdkafka emit (0x82 "SNAPPY" 0x00, version,
//     compatible version, then blocks of int32 length + raw snappy). Blocks
//     are decoded strictly, like the C++ reference decoder, so data a Java
//     consumer cannot read (the s2 "repeat offset" extension) is refused.
//   - LZ4 is the LZ4 frame format, as Kafka uses since magic 1.
//   - Zstd frames with a window above 128 MiB are refused, as Kafka's
//     zstd-jni does. Like zstd-jni, the decoder holds a buffer the size of
//     the frame's window (2 MiB at Kafka's default level) besides the output.
func Decompress(c Codec, src []byte, limit int) ([]byte, error) {
	var (
		out []byte
		err error
	)
	limit = max(limit, 0)
	switch c {
	case CodecNone:
		if len(src) > limit {
			return nil, limitError(c, limit)
		}
		return src, nil
	case CodecGzip:
		out, err = gunzip(src, limit)
	case CodecSnappy:
		out, err = unsnappy(src, limit)
	case CodecLZ4:
		out, err = unlz4(src, limit)
	case CodecZstd:
		out, err = unzstd(src, limit)
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptBatch, int(c))
	}
	if err != nil {
		if errors.Is(err, ErrDecompressLimit) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s records do not decompress: %v", ErrCorruptBatch, c, err)
	}
	return out, nil
}

func limitError(c Codec, limit int) error {
	return fmt.Errorf("%w: %s records decompress to more than %d bytes", ErrDecompressLimit, c, limit)
}

// gzipReader is a pooled gzip decoder with its source.
type gzipReader struct {
	src bytes.Reader
	zr  gzip.Reader
}

var gzipReaders = sync.Pool{New: func() any { return new(gzipReader) }}

func gunzip(src []byte, limit int) ([]byte, error) {
	r := gzipReaders.Get().(*gzipReader)
	defer func() {
		r.src.Reset(nil)
		gzipReaders.Put(r)
	}()
	r.src.Reset(src)
	if err := r.zr.Reset(&r.src); err != nil {
		return nil, err
	}
	hint := 0
	if len(src) >= 4 { // ISIZE: the last member's size mod 2^32
		hint = int(binary.LittleEndian.Uint32(src[len(src)-4:]))
	}
	return readLimited(&r.zr, CodecGzip, hint, len(src), limit)
}

// lz4Reader is a pooled LZ4 frame decoder with its source.
type lz4Reader struct {
	src bytes.Reader
	zr  *lz4.Reader
}

var lz4Readers = sync.Pool{New: func() any { return &lz4Reader{zr: lz4.NewReader(nil)} }}

func unlz4(src []byte, limit int) ([]byte, error) {
	r := lz4Readers.Get().(*lz4Reader)
	defer func() {
		r.src.Reset(nil)
		r.zr.Reset(nil)
		lz4Readers.Put(r)
	}()
	r.src.Reset(src)
	r.zr.Reset(&r.src)
	return readLimited(r.zr, CodecLZ4, 0, len(src), limit)
}

// readLimited reads r to EOF into a buffer that never grows past limit
// bytes. hint, if positive, is the expected output size.
func readLimited(r io.Reader, c Codec, hint, srcLen, limit int) ([]byte, error) {
	if hint <= 0 {
		hint = 4 * srcLen
	}
	buf := make([]byte, 0, max(min(hint, limit), min(512, limit)))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				// Full: one more byte means too much.
				var probe [1]byte
				n, err := io.ReadFull(r, probe[:])
				if n > 0 {
					return nil, limitError(c, limit)
				}
				if err == io.EOF {
					return buf, nil
				}
				return nil, err
			}
			grown := make([]byte, len(buf), min(max(2*cap(buf), 512), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// xerialMagic opens the snappy framing of snappy-java (and so of the Java
// client), which librdkafka also writes and reads.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// xerialHeaderSize covers the magic, a version and a compatible version.
const xerialHeaderSize = 16

func unsnappy(src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n > limit {
			return nil, limitError(CodecSnappy, limit)
		}
		return snappy.DecodeStrict(make([]byte, n), src)
	}
	if len(src) < xerialHeaderSize {
		return nil, errors.New("xerial snappy header is truncated")
	}
	// First pass: frame the blocks and add up their sizes, so a bomb is
	// refused before anything is allocated.
	total := 0
	for p := xerialHeaderSize; p < len(src); {
		block, next, err := xerialBlock(src, p)
		if err != nil {
			return nil, err
		}
		n, err := snappy.DecodedLen(block)
		if err != nil {
			return nil, err
		}
		if n > limit-total {
			return nil, limitError(CodecSnappy, limit)
		}
		total += n
		p = next
	}
	out := make([]byte, 0, total)
	for p := xerialHeaderSize; p < len(src); {
		block, next, _ := xerialBlock(src, p)
		n, _ := snappy.DecodedLen(block)
		if _, err := snappy.DecodeStrict(out[len(out):len(out)+n], block); err != nil {
			return nil, err
		}
		out = out[:len(out)+n]
		p = next
	}
	return out, nil
}

// xerialBlock returns the xerial block that starts at src[p:] and the offset
// of the next one.
func xerialBlock(src []byte, p int) (block []byte, next int, err error) {
	if len(src)-p < 4 {
		return nil, 0, fmt.Errorf("xerial snappy block length at byte %d is truncated", p)
	}
	n := binary.BigEndian.Uint32(src[p:])
	p += 4
	if uint64(n) > uint64(len(src)-p) {
		return nil, 0, fmt.Errorf("xerial snappy block of %d bytes at byte %d overruns the %d bytes left", n, p, len(src)-p)
	}
	return src[p : p+int(n)], p + int(n), nil
}

// zstdMaxWindow matches zstd-jni's default limit, which Kafka uses.
const zstdMaxWindow = 1 << 27

// zstdPoolWindow is the largest window whose decoder goes back to the pool;
// a decoder keeps a buffer of its last window, and Kafka producers use at
// most 8 MiB below compression level 20.
const zstdPoolWindow = 8 << 20

// zstdReaders pools streaming decoders. Streaming with concurrency 1
// decodes synchronously and, unlike DecodeAll, lets readLimited stop at the
// limit whether or not the frame declares its content size.
var zstdReaders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		panic("protocol: zstd decoder options: " + err.Error())
	}
	return &zstdReader{zr: d}
}}

// zstdReader is a pooled zstd decoder with its source.
type zstdReader struct {
	src bytes.Reader
	zr  *zstd.Decoder
}

func unzstd(src []byte, limit int) ([]byte, error) {
	var h zstd.Header
	hint := 0
	if h.Decode(src) == nil && h.HasFCS {
		if h.FrameContentSize > uint64(limit) {
			return nil, limitError(CodecZstd, limit)
		}
		hint = int(h.FrameContentSize)
	}
	r := zstdReaders.Get().(*zstdReader)
	defer func() {
		r.src.Reset(nil)
		if r.zr.Reset(nil) == nil && h.WindowSize <= zstdPoolWindow {
			zstdReaders.Put(r)
		}
	}()
	r.src.Reset(src)
	if err := r.zr.Reset(&r.src); err != nil {
		return nil, err
	}
	return readLimited(r.zr, CodecZstd, hint, len(src), limit)
}

// Compress returns src compressed with c, in the form Kafka clients write:
// a gzip stream, a raw snappy block, an LZ4 frame with 64 KiB blocks like
// the Java client's, or a zstd frame. For CodecNone it returns src itself.
func Compress(c Codec, src []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return src, nil
	case CodecGzip:
		return compressGzip(src)
	case CodecSnappy:
		return snappy.Encode(nil, src), nil
	case CodecLZ4:
		return compressLZ4(src)
	case CodecZstd:
		return zstdEncoder().EncodeAll(src, make([]byte, 0, len(src)/2+64)), nil
	}
	return nil, fmt.Errorf("compress: unknown codec %d", int(c))
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func compressGzip(src []byte) ([]byte, error) {
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 64)
	w.Reset(&buf)
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	w.Reset(nil)
	return buf.Bytes(), nil
}

var lz4Writers = sync.Pool{New: func() any {
	w := lz4.NewWriter(nil)
	if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false)); err != nil {
		panic("protocol: lz4 writer options: " + err.Error())
	}
	return w
}}

func compressLZ4(src []byte) ([]byte, error) {
	w := lz4Writers.Get().(*lz4.Writer)
	defer lz4Writers.Put(w)
	var buf bytes.Buffer
	buf.Grow(len(src)/2 + 64)
	w.Reset(&buf)
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	w.Reset(nil)
	return buf.Bytes(), nil
}

// zstdEncoder is shared: EncodeAll is safe for concurrent use.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		panic("protocol: zstd encoder options: " + err.Error())
	}
	return e
})
