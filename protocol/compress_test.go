package protocol

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// testPayload is compressible but not trivially so.
func testPayload(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"skiff ", "kafka ", "record ", "batch ", "offset ", "leader "}
	var b []byte
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
	}
	return b[:n]
}

func TestProtocolCodecString(t *testing.T) {
	want := []string{"none", "gzip", "snappy", "lz4", "zstd", "Codec(5)"}
	for i, w := range want {
		if got := Codec(i).String(); got != w {
			t.Errorf("Codec(%d).String() = %q, want %q", i, got, w)
		}
	}
}

func TestProtocolCompressRoundTrip(t *testing.T) {
	for _, c := range allCodecs {
		for _, size := range []int{0, 1, 100, 64 << 10, 300 << 10} {
			src := testPayload(size)
			comp, err := Compress(c, src)
			if err != nil {
				t.Fatalf("Compress(%s, %d bytes): %v", c, size, err)
			}
			got, err := Decompress(c, comp, size)
			if err != nil {
				t.Fatalf("Decompress(%s, %d bytes): %v", c, size, err)
			}
			if !bytes.Equal(got, src) {
				t.Fatalf("%s round trip of %d bytes differs", c, size)
			}
		}
	}
}

// clientForms compresses src the way other Kafka clients do, with encoders
// other than the ones Compress uses.
func clientForms(t testing.TB, src []byte) map[string]struct {
	c    Codec
	data []byte
} {
	t.Helper()
	var gz bytes.Buffer
	w := stdgzip.NewWriter(&gz)
	w.Write(src)
	w.Close()

	var lz bytes.Buffer // pierrec defaults: 4 MiB blocks, content checksum
	lw := lz4.NewWriter(&lz)
	lw.Write(src)
	lw.Close()

	var zs bytes.Buffer // a streaming encoder leaves the content size out, as zstd-jni does
	zw, _ := zstd.NewWriter(&zs, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	zw.Write(src)
	zw.Close()

	return map[string]struct {
		c    Codec
		data []byte
	}{
		"gzip stdlib":          {CodecGzip, gz.Bytes()},
		"snappy xerial (java)": {CodecSnappy, xerial.Encode(nil, src)},
		"snappy raw":           {CodecSnappy, snappy.Encode(nil, src)},
		"lz4 frame":            {CodecLZ4, lz.Bytes()},
		"zstd stream":          {CodecZstd, zs.Bytes()},
	}
}

func TestProtocolDecompressClientForms(t *testing.T) {
	for _, size := range []int{1, 1000, 100 << 10} {
		src := testPayload(size)
		for name, f := range clientForms(t, src) {
			got, err := Decompress(f.c, f.data, size)
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", name, size, err)
			}
			if !bytes.Equal(got, src) {
				t.Fatalf("%s, %d bytes: output differs", name, size)
			}
		}
	}
}

// TestProtocolSnappyXerial builds the xerial framing by hand, as snappy-java
// writes it, with several blocks and an empty stream.
func TestProtocolSnappyXerial(t *testing.T) {
	frame := func(version uint32, blocks ...[]byte) []byte {
		b := append([]byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}, 0, 0, 0, byte(version), 0, 0, 0, 1)
		for _, blk := range blocks {
			enc := snappy.Encode(nil, blk)
			b = binary.BigEndian.AppendUint32(b, uint32(len(enc)))
			b = append(b, enc...)
		}
		return b
	}
	a, b := testPayload(40000), bytes.Repeat([]byte("z"), 5000)
	tests := []struct {
		name  string
		input []byte
		want  []byte
		err   error
	}{
		{"two blocks", frame(1, a, b), append(bytes.Clone(a), b...), nil},
		{"empty stream", frame(1), []byte{}, nil},
		{"empty block", frame(1, nil, b), b, nil},
		{"other version", frame(2, b), b, nil},
		{"truncated block length", append(frame(1, a), 0, 0), nil, ErrCorruptBatch},
		{"block overruns", frame(1, a)[:1000], nil, ErrCorruptBatch},
		{"truncated header", frame(1)[:12], nil, ErrCorruptBatch},
		{"garbage block", append(frame(1), 0, 0, 0, 3, 0xff, 0xff, 0xff), nil, ErrCorruptBatch},
		{"over limit", frame(1, a, b), nil, ErrDecompressLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := 1 << 20
			if tt.err == ErrDecompressLimit {
				limit = len(a) + len(b) - 1
			}
			got, err := Decompress(CodecSnappy, tt.input, limit)
			if !errors.Is(err, tt.err) || (tt.err == nil && !bytes.Equal(got, tt.want)) {
				t.Fatalf("got %d bytes, %v; want %d bytes, %v", len(got), err, len(tt.want), tt.err)
			}
		})
	}
}

// TestProtocolSnappyStrict checks that the s2 "repeat offset" extension,
// which the C++ and Java decoders refuse, is refused here too.
func TestProtocolSnappyStrict(t *testing.T) {
	src := bytes.Repeat([]byte("abcdefgh12345678"), 1000)
	enc := s2.Encode(nil, src) // s2 block format, uses repeat offsets
	if _, err := s2.Decode(nil, enc); err != nil {
		t.Fatal(err)
	}
	if _, err := Decompress(CodecSnappy, enc, len(src)); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("s2 block accepted as snappy: err = %v", err)
	}
}

func TestProtocolDecompressLimit(t *testing.T) {
	src := testPayload(200 << 10)
	for _, c := range allCodecs {
		comp, err := Compress(c, src)
		if err != nil {
			t.Fatal(err)
		}
		forms := map[string][]byte{"Compress": comp}
		for name, f := range clientForms(t, src) {
			if f.c == c {
				forms[name] = f.data
			}
		}
		for name, data := range forms {
			for _, limit := range []int{len(src), len(src) - 1, 1000, 1, 0, -1} {
				got, err := Decompress(c, data, limit)
				if limit >= len(src) {
					if err != nil || !bytes.Equal(got, src) {
						t.Fatalf("%s %s limit %d: %v", c, name, limit, err)
					}
					continue
				}
				if !errors.Is(err, ErrDecompressLimit) || got != nil {
					t.Fatalf("%s %s limit %d: got %d bytes, err %v; want ErrDecompressLimit", c, name, limit, len(got), err)
				}
			}
		}
	}
}

// TestProtocolDecompressBomb feeds highly compressible data, so that the
// output guesses made from the input size are far too small.
func TestProtocolDecompressBomb(t *testing.T) {
	src := make([]byte, 8<<20)
	for name, f := range clientForms(t, src) {
		if _, err := Decompress(f.c, f.data, len(src)); err != nil {
			t.Fatalf("%s at the limit: %v", name, err)
		}
		if _, err := Decompress(f.c, f.data, 1<<20); !errors.Is(err, ErrDecompressLimit) {
			t.Fatalf("%s over the limit: err = %v, want ErrDecompressLimit", name, err)
		}
	}
}

func TestProtocolDecompressCorrupt(t *testing.T) {
	garbage := []byte("this is not compressed data at all, not even a little")
	for _, c := range []Codec{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd, 5, 7} {
		if _, err := Decompress(c, garbage, 1<<20); !errors.Is(err, ErrCorruptBatch) {
			t.Errorf("%s: err = %v, want ErrCorruptBatch", c, err)
		}
		comp, err := Compress(c, testPayload(5000))
		if c > CodecZstd {
			if err == nil {
				t.Errorf("Compress(%s) succeeded", c)
			}
			continue
		}
		if _, err := Decompress(c, comp[:len(comp)-5], 1<<20); !errors.Is(err, ErrCorruptBatch) {
			t.Errorf("%s truncated: err = %v, want ErrCorruptBatch", c, err)
		}
	}
}

// TestProtocolDecompressConcurrent shares the pooled decoders between
// goroutines, interleaving good, corrupt and over-limit input; run it with
// -race.
func TestProtocolDecompressConcurrent(t *testing.T) {
	src := testPayload(50 << 10)
	type job struct {
		c    Codec
		data []byte
	}
	var jobs []job
	for _, c := range allCodecs[1:] {
		comp, err := Compress(c, src)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job{c, comp})
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				j := jobs[(g+i)%len(jobs)]
				switch i % 3 {
				case 0:
					if got, err := Decompress(j.c, j.data, len(src)); err != nil || !bytes.Equal(got, src) {
						errs <- fmt.Errorf("%s: %d bytes, %v", j.c, len(got), err)
						return
					}
				case 1:
					if _, err := Decompress(j.c, j.data[:len(j.data)/2], len(src)); !errors.Is(err, ErrCorruptBatch) {
						errs <- fmt.Errorf("%s truncated: %v", j.c, err)
						return
					}
				case 2:
					if _, err := Decompress(j.c, j.data, len(src)/3); !errors.Is(err, ErrDecompressLimit) {
						errs <- fmt.Errorf("%s over limit: %v", j.c, err)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
