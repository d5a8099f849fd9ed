package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/skiffstream/skiff/protocol"
)

func newTestEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func newTestRunner(t testing.TB, e *Engine, wasm []byte, cfg RunnerConfig) *Runner {
	t.Helper()
	m, err := e.Load(context.Background(), t.Name(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if cfg.OutputTopics == nil {
		cfg.InputTopic = "in"
		cfg.OutputTopics = []string{"first", "second"}
	}
	r, err := m.NewRunner(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// probeHeader has a distinct byte pattern in every field, so that a field
// written to the wrong pointer, or with the wrong width, shows.
var probeHeader = protocol.BatchHeader{
	BaseOffset:           0x0102030405060708,
	PartitionLeaderEpoch: 0x11121314,
	Attributes:           0x2123, // codec bits 0x3 are cleared for the module
	LastOffsetDelta:      0x31323334,
	BaseTimestamp:        0x4142434445464748,
	MaxTimestamp:         0x5152535455565758,
	ProducerID:           0x6162636465666768,
	ProducerEpoch:        0x7172,
	BaseSequence:         0x71828384,
	NumRecords:           99, // ignored: the module reads len(Records)
}

var probeRecord = protocol.Record{
	Attributes:     0x05,
	TimestampDelta: 0x10,
	OffsetDelta:    0x20,
	Key:            []byte("k"),
	Value:          []byte("value"),
	Headers:        []protocol.RecordHeader{{Key: "h", Value: []byte("v")}, {Key: "n", Value: nil}},
}

// expectedDump is the dump region (0x100..0x300) the probe module writes
// after reading h and r, when the region held prev before.
func expectedDump(prev []byte, h protocol.BatchHeader, r protocol.Record, recordTimestamp int64) []byte {
	d := bytes.Clone(prev)
	le := binary.LittleEndian
	at := func(addr int) []byte { return d[addr-addrFields:] }
	le.PutUint64(at(0x100), uint64(h.BaseOffset))
	le.PutUint32(at(0x110), 1)
	le.PutUint32(at(0x120), uint32(h.PartitionLeaderEpoch))
	le.PutUint16(at(0x130), uint16(h.Attributes&^7))
	le.PutUint32(at(0x140), uint32(h.LastOffsetDelta))
	le.PutUint64(at(0x150), uint64(h.BaseTimestamp))
	le.PutUint64(at(0x160), uint64(h.MaxTimestamp))
	le.PutUint64(at(0x170), uint64(h.ProducerID))
	le.PutUint16(at(0x180), uint16(h.ProducerEpoch))
	le.PutUint32(at(0x190), uint32(h.BaseSequence))
	at(addrAttr)[0] = byte(r.Attributes)
	le.PutUint64(at(addrTimestamp), uint64(recordTimestamp))
	le.PutUint64(at(addrOffset), uint64(h.BaseOffset+int64(r.OffsetDelta)))
	payload := appendPayload(nil, &r)
	le.PutUint32(at(addrResult), uint32(len(payload)))
	minus := func(v int32) uint32 { return uint32(v) }
	le.PutUint32(at(addrResult2), minus(codeNoRecord))
	le.PutUint32(at(addrResultBuf), minus(codeBufTooSmall))
	le.PutUint32(at(addrMaxSize), uint32(len(payload)))
	copy(at(addrBuf), payload)
	return d
}

// TestTransformsABIPointers checks every pointer of read_batch_header and
// read_next_record, byte for byte: each field lands at its own pointer with
// its own width and nothing else in memory changes. It guards against the
// known pitfalls of ABI hosts, such as the offset written into the
// timestamp pointer.
func TestTransformsABIPointers(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, probeModule(0, 0), RunnerConfig{})
	ctx := context.Background()

	// The region starts as sentinels, so any byte written where it should
	// not be shows.
	mem := bytes.Repeat([]byte{0xaa}, 0x200)
	check := func(h protocol.BatchHeader, rec protocol.Record, ts int64) {
		t.Helper()
		outs, err := r.ProcessBatch(ctx, Batch{Header: h, Records: []protocol.Record{rec}})
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || outs[0].Topic != 0 || outs[0].Input != 0 {
			t.Fatalf("outputs = %+v, want one to topic 0 for input 0", outs)
		}
		got := outs[0].Record
		if got.Key != nil || got.TimestampDelta != rec.TimestampDelta || got.OffsetDelta != rec.OffsetDelta {
			t.Fatalf("output key %q, deltas %d/%d; want null key and the input's deltas %d/%d",
				got.Key, got.TimestampDelta, got.OffsetDelta, rec.TimestampDelta, rec.OffsetDelta)
		}
		want := expectedDump(mem, h, rec, ts)
		for i := range want {
			if got.Value[i] != want[i] {
				t.Fatalf("memory at %#x = %#x, want %#x\ngot  %x\nwant %x", addrFields+i, got.Value[i], want[i], got.Value, want)
			}
		}
		mem = want
	}
	check(probeHeader, probeRecord, probeHeader.BaseTimestamp+probeRecord.TimestampDelta)

	// A second batch on the same instance, with LogAppendTime: the record's
	// timestamp is the batch's max timestamp.
	h := probeHeader
	h.BaseOffset, h.Attributes, h.ProducerEpoch = 77, 0x0008, -1
	rec := probeRecord
	rec.Key, rec.Headers = nil, nil
	check(h, rec, h.MaxTimestamp)
}

// TestTransformsWriteOptionsPointer checks that write_record_with_options
// reads the options from the options pointer (not the data pointer) and
// routes by topic name.
func TestTransformsWriteOptionsPointer(t *testing.T) {
	e := newTestEngine(t, Config{})
	ctx := context.Background()
	batch := Batch{Header: probeHeader, Records: []protocol.Record{probeRecord}}

	r := newTestRunner(t, e, probeModule(addrOptSecond, int32(len(optSecond))), RunnerConfig{})
	outs, err := r.ProcessBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Topic != 1 || len(outs[0].Record.Value) != 0x200 {
		t.Fatalf("outputs = %+v, want the dump written to topic 1", outs)
	}

	// Empty options mean the first output topic.
	r = newTestRunner(t, e, probeModule(addrOptSecond, 0), RunnerConfig{})
	if outs, err = r.ProcessBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Topic != 0 {
		t.Fatalf("outputs = %+v, want one to topic 0", outs)
	}
}

// TestTransformsTimeLimitBetweenBatches checks that an instance waiting for
// a batch is not stopped by the time limit: the limit is per batch.
func TestTransformsTimeLimitBetweenBatches(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := newTestRunner(t, e, chaosModule(), RunnerConfig{BatchTimeout: 100 * time.Millisecond, OutputTopics: []string{"first"}})
	ctx := context.Background()
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		outs, err := r.ProcessBatch(ctx, Batch{Records: []protocol.Record{{Value: []byte("ok")}}})
		if err != nil || len(outs) != 1 || string(outs[0].Record.Value) != "ok" {
			t.Fatalf("ProcessBatch = %+v, %v; want the record echoed", outs, err)
		}
	}
}

// TestTransformsABIBadPointers passes, in turn, each pointer of each host
// function just past the end of memory (one byte short of room for its
// value) and checks that the batch fails with ErrBadPointer; the same
// pointer one byte lower (the value ends at the end of memory) works.
func TestTransformsABIBadPointers(t *testing.T) {
	e := newTestEngine(t, Config{})
	const end = wasmPageSize // one page of memory
	header := func(i int, at int32) []byte {
		args := make([]int32, 10)
		for k := range args {
			args[k] = addrFields + 0x10*int32(k)
		}
		args[i] = at
		return cat(callWith(fnReadBatchHeader, args...), opDrop)
	}
	okHeader := header(0, addrFields)
	record := func(i int, at int32) []byte {
		args := []int32{addrAttr, addrTimestamp, addrOffset, addrBuf, bufLen}
		args[i] = at
		return cat(callWith(fnReadNextRecord, args...), opDrop)
	}
	widths := []int32{8, 4, 4, 2, 4, 8, 8, 8, 2, 4}
	type hostCall struct {
		name      string
		body      func(at int32) []byte
		width     int32
		wantError bool
	}
	var calls []hostCall
	for i, w := range widths {
		calls = append(calls, hostCall{name: "read_batch_header arg " + string(rune('0'+i)), body: func(at int32) []byte { return header(i, at) }, width: w})
	}
	payload := int32(len(appendPayload(nil, &probeRecord)))
	for i, w := range []int32{1, 8, 8, payload} {
		calls = append(calls, hostCall{name: "read_next_record arg " + string(rune('0'+i)), body: func(at int32) []byte { return cat(okHeader, record(i, at)) }, width: w})
	}
	calls = append(calls,
		hostCall{name: "write_record buf", body: func(at int32) []byte {
			return cat(okHeader, callWith(fnWriteRecord, at, 3), opDrop)
		}, width: 3, wantError: true}, // the bytes at the end are zeros: not a payload
		hostCall{name: "write_record_with_options opts", body: func(at int32) []byte {
			return cat(okHeader, callWith(fnWriteRecordWithOptions, addrDump, dumpLen, at, 4), opDrop)
		}, width: 4, wantError: true}, // zeros are not options either
	)
	for _, c := range calls {
		for _, at := range []int32{end - c.width + 1, end - c.width} {
			wasm := wasmModule{
				imports:  abiImports("check_abi_version_2"),
				memPages: 1,
				data:     layoutData(),
				start:    cat(call(fnCheckABI), opLoop, c.body(at), opBr0, opEnd),
			}.bytes()
			r := newTestRunner(t, e, wasm, RunnerConfig{OutputTopics: []string{"o"}})
			_, err := r.ProcessBatch(context.Background(), Batch{Header: probeHeader, Records: []protocol.Record{probeRecord}})
			inside := at+c.width <= end
			switch {
			case !inside && !errors.Is(err, ErrBadPointer):
				t.Errorf("%s at %#x: error %v, want ErrBadPointer", c.name, at, err)
			case inside && errors.Is(err, ErrBadPointer):
				t.Errorf("%s at %#x (inside memory): %v", c.name, at, err)
			case inside && !c.wantError && err != nil:
				t.Errorf("%s at %#x (inside memory): %v", c.name, at, err)
			}
		}
	}
}
