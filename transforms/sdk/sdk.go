package sdk

import (
	"encoding/binary"
	"os"
	"strconv"
	"time"
	"unsafe"
)

// Process runs fn for every input record, with a Writer to write any number
// of records to any output topic. The other kinds are built on it. It never
// returns.
func Process(fn func(r Record, w *Writer) error) {
	run(kindProcess, fn)
}

// Filter keeps the records for which fn returns true, unchanged.
func Filter(fn func(r Record) (bool, error)) {
	run(kindFilter, func(r Record, w *Writer) error {
		keep, err := fn(r)
		if err != nil || !keep {
			return err
		}
		// The record as it was read: its encoding is what Write would
		// make of r again (fn cannot change r's fields, and what it
		// changes in place is in these bytes too).
		return w.writePayload(w.read)
	})
}

// Map writes one record for each input record: what fn returns.
func Map(fn func(r Record) (Record, error)) {
	run(kindMap, func(r Record, w *Writer) error {
		out, err := fn(r)
		if err != nil {
			return err
		}
		return w.Write(out)
	})
}

// FilterMap writes what fn returns when it returns true, and nothing
// otherwise.
func FilterMap(fn func(r Record) (Record, bool, error)) {
	run(kindFilterMap, func(r Record, w *Writer) error {
		out, keep, err := fn(r)
		if err != nil || !keep {
			return err
		}
		return w.Write(out)
	})
}

// ArrayMap writes the zero or more records fn returns, in order.
func ArrayMap(fn func(r Record) ([]Record, error)) {
	run(kindArrayMap, func(r Record, w *Writer) error {
		outs, err := fn(r)
		if err != nil {
			return err
		}
		for _, out := range outs {
			if err := w.Write(out); err != nil {
				return err
			}
		}
		return nil
	})
}

// Aggregate carries an accumulator from record to record, starting at
// init: fn gets the accumulator and a record and returns the new
// accumulator, which is written as the value of the input record (key,
// headers and timestamp kept). The accumulator lives as long as the module
// instance, across batches.
//
// acc is valid only during the call; fn may modify it and return it, or
// return a new slice.
func Aggregate(init []byte, fn func(acc []byte, r Record) ([]byte, error)) {
	acc := append([]byte{}, init...)
	var spare []byte
	run(kindAggregate, func(r Record, w *Writer) error {
		next, err := fn(acc, r)
		if err != nil {
			return err
		}
		// next may alias acc or the input record: copy it aside.
		spare = append(spare[:0], next...)
		acc, spare = spare, acc
		r.Value = acc
		return w.Write(r)
	})
}

// Writer writes records to the output topics.
type Writer struct {
	buf  []byte
	opts []byte
	read []byte // the encoded payload of the record being processed
}

// Write writes r to the first output topic.
func (w *Writer) Write(r Record) error {
	w.buf = appendPayload(w.buf[:0], &r)
	return w.writePayload(w.buf)
}

// writePayload writes an encoded key/value/headers payload to the first
// output topic.
func (w *Writer) writePayload(p []byte) error {
	n := writeRecord(unsafe.Pointer(unsafe.SliceData(p)), int32(len(p)))
	return writeResult("write_record", n, len(p))
}

// WriteTo writes r to the output topic named topic, which must be one of
// the deployment's outputs (see OutputTopics).
func (w *Writer) WriteTo(topic string, r Record) error {
	w.buf = appendPayload(w.buf[:0], &r)
	w.opts = append(w.opts[:0], 0x01)
	w.opts = binary.AppendVarint(w.opts, int64(len(topic)))
	w.opts = append(w.opts, topic...)
	n := writeRecordWithOptions(unsafe.Pointer(unsafe.SliceData(w.buf)), int32(len(w.buf)),
		unsafe.Pointer(unsafe.SliceData(w.opts)), int32(len(w.opts)))
	return writeResult("write_record_with_options to "+strconv.Quote(topic), n, len(w.buf))
}

// WriteError is the error of a write the engine refused. The engine stops
// the module soon after, so there is no use in retrying.
type WriteError struct {
	Call string
	Code int32 // -3 is a topic that is not an output
}

func (e *WriteError) Error() string {
	return e.Call + " failed with code " + strconv.Itoa(int(e.Code))
}

func writeResult(call string, n int32, want int) error {
	if int(n) != want {
		return &WriteError{Call: call, Code: n}
	}
	return nil
}

// batchHeader receives read_batch_header's fields, each of the ABI's width.
type batchHeader struct {
	baseOffset           int64
	recordCount          int32
	partitionLeaderEpoch int32
	attributes           int16
	lastOffsetDelta      int32
	baseTimestamp        int64
	maxTimestamp         int64
	producerID           int64
	producerEpoch        int16
	baseSequence         int32
}

// run is the module's loop: ask for a batch (which ends the previous one),
// read its records one by one and hand each to fn. A failing fn ends the
// module with exit code 1 after printing the error to stderr; the engine
// reports it against the record. Under a describe probe it only names kind
// (see describe).
func run(kind string, fn func(r Record, w *Writer) error) {
	describe(kind)
	checkABIVersion2()
	var (
		h    batchHeader
		buf  = make([]byte, 512)
		w    Writer
		r    Record
		attr uint8
		ts   int64
	)
	for {
		size := readBatchHeader(
			unsafe.Pointer(&h.baseOffset), unsafe.Pointer(&h.recordCount),
			unsafe.Pointer(&h.partitionLeaderEpoch), unsafe.Pointer(&h.attributes),
			unsafe.Pointer(&h.lastOffsetDelta), unsafe.Pointer(&h.baseTimestamp),
			unsafe.Pointer(&h.maxTimestamp), unsafe.Pointer(&h.producerID),
			unsafe.Pointer(&h.producerEpoch), unsafe.Pointer(&h.baseSequence))
		if size < 0 {
			fatal("read_batch_header failed with code " + strconv.Itoa(int(size)))
		}
		if int(size) > len(buf) {
			buf = make([]byte, size)
		}
		for range h.recordCount {
			n := readNextRecord(unsafe.Pointer(&attr), unsafe.Pointer(&ts), unsafe.Pointer(&r.Offset),
				unsafe.Pointer(unsafe.SliceData(buf)), int32(len(buf)))
			if n < 0 {
				fatal("read_next_record failed with code " + strconv.Itoa(int(n)))
			}
			w.read = buf[:n]
			if err := decodePayload(buf[:n], &r); err != nil {
				fatal("record at offset " + strconv.FormatInt(r.Offset, 10) + ": " + err.Error())
			}
			r.Timestamp = time.UnixMilli(ts)
			if err := fn(r, &w); err != nil {
				fatal("record at offset " + strconv.FormatInt(r.Offset, 10) + ": " + err.Error())
			}
		}
	}
}

func fatal(msg string) {
	os.Stderr.WriteString(msg + "\n")
	os.Exit(1)
}
