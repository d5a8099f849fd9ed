package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Record is one record of a magic 2 batch, see
// https://kafka.apache.org/documentation/#record. Its offset and timestamp
// are deltas from the batch's BaseOffset and BaseTimestamp.
type Record struct {
	OffsetDelta    int32
	TimestampDelta int64
	Attributes     int8   // unused by Kafka, kept as read
	Key            []byte // nil means null, as opposed to empty
	Value          []byte // nil means null (a tombstone), as opposed to empty
	Headers        []RecordHeader
}

// RecordHeader is a record header. Kafka allows a null value but not a null
// key.
type RecordHeader struct {
	Key   string
	Value []byte // nil means null
}

// minRecordSize is the smallest encoded record: a length, attributes, a
// timestamp delta, an offset delta, a null key, a null value and no headers.
const minRecordSize = 7

// ParseRecords returns the records of the batch at the start of batch, whose
// header h was parsed from it (ParseBatchHeader or ValidateBatches). A
// compressed records section is decompressed first; an output larger than
// limit bytes fails with an error wrapping ErrDecompressLimit. Other errors
// wrap ErrCorruptBatch (framing, decompression) or ErrInvalidRecord (the
// records themselves), as ValidateBatches does.
//
// The records must number exactly h.NumRecords and fill the records section
// with no bytes left over. Keys and values alias batch (or the decompressed
// buffer), so they are valid for as long as batch is.
//
// # Notes
//
//   - ParseRecords does not check the CRC: validate the batch first.
//   - Unlike ValidateBatches it accepts any offset deltas, so it also reads
//     batches whose records were compacted away.
func ParseRecords(h BatchHeader, batch []byte, limit int) ([]Record, error) {
	if h.Magic != CurrentMagic {
		return nil, fmt.Errorf("%w: got magic %d", ErrUnsupportedMagic, h.Magic)
	}
	if h.Length < minBatchLength || h.TotalSize() > len(batch) {
		return nil, fmt.Errorf("%w: batch length %d does not fit the %d bytes given", ErrCorruptBatch, h.Length, len(batch))
	}
	if h.NumRecords < 0 {
		return nil, fmt.Errorf("%w: negative record count %d", ErrInvalidRecord, h.NumRecords)
	}
	data := batch[BatchHeaderSize:h.TotalSize()]
	if c := h.Compression(); c != CodecNone {
		var err error
		if data, err = Decompress(c, data, limit); err != nil {
			return nil, err
		}
	}
	// Bound the allocation by what the data can hold, not by the count the
	// header claims.
	records := make([]Record, 0, min(int(h.NumRecords), len(data)/minRecordSize))
	for i := range int(h.NumRecords) {
		if len(data) == 0 {
			return nil, fmt.Errorf("%w: batch declares %d records but holds %d", ErrInvalidRecord, h.NumRecords, i)
		}
		var r Record
		n, err := readRecord(data, &r, true)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrInvalidRecord, i, err)
		}
		records = append(records, r)
		data = data[n:]
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("%w: %d bytes left over after the %d records the batch declares", ErrInvalidRecord, len(data), h.NumRecords)
	}
	return records, nil
}

// readRecord decodes the length-prefixed record at the start of b into r and
// returns its encoded size. Headers are only kept when withHeaders is set,
// so that validation does not allocate. Errors are plain; callers wrap them.
func readRecord(b []byte, r *Record, withHeaders bool) (int, error) {
	length, n := uvarint32(b)
	if n <= 0 {
		return 0, errVarint("length", n)
	}
	if length < 0 || int64(length) > int64(len(b)-n) {
		return 0, fmt.Errorf("length %d does not fit the %d bytes left", length, len(b)-n)
	}
	d := decoder{b: b[n : n+int(length)]}
	r.Attributes = int8(d.byte1())
	r.TimestampDelta = d.varint64("timestamp delta")
	r.OffsetDelta = d.varint32("offset delta")
	r.Key = d.bytes("key")
	r.Value = d.bytes("value")
	count := d.varint32("header count")
	if d.err == nil && count < 0 {
		d.fail(fmt.Errorf("negative header count %d", count))
	}
	r.Headers = nil
	if withHeaders && count > 0 && d.err == nil {
		// A header takes at least two bytes.
		r.Headers = make([]RecordHeader, 0, min(int(count), len(d.b)/2))
	}
	for i := int32(0); i < count && d.err == nil; i++ {
		key := d.bytes("header key")
		if d.err == nil && key == nil {
			d.fail(fmt.Errorf("header %d has a null key", i))
		}
		value := d.bytes("header value")
		if withHeaders && d.err == nil {
			r.Headers = append(r.Headers, RecordHeader{Key: string(key), Value: value})
		}
	}
	if d.err != nil {
		return 0, d.err
	}
	if len(d.b) != 0 {
		return 0, fmt.Errorf("%d bytes left over inside the record's length of %d", len(d.b), length)
	}
	return n + int(length), nil
}

// decoder reads the fields of one record body, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail(fmt.Errorf("attributes: record body is empty"))
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint32(what string) int32 {
	v, n := uvarint32(d.b)
	if n <= 0 {
		if d.err == nil {
			d.fail(errVarint(what, n))
		}
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint64(what string) int64 {
	u, n := binary.Uvarint(d.b)
	if n <= 0 {
		if d.err == nil {
			d.fail(errVarint(what, n))
		}
		return 0
	}
	d.b = d.b[n:]
	return int64(u>>1) ^ -int64(u&1)
}

// bytes reads a varint-length-prefixed byte string; length -1 is null.
func (d *decoder) bytes(what string) []byte {
	l := d.varint32(what)
	switch {
	case d.err != nil:
		return nil
	case l == -1:
		return nil
	case l < -1:
		d.fail(fmt.Errorf("%s length %d is below -1", what, l))
		return nil
	case int64(l) > int64(len(d.b)):
		d.fail(fmt.Errorf("%s length %d does not fit the %d bytes left", what, l, len(d.b)))
		return nil
	}
	v := d.b[:l:l]
	d.b = d.b[l:]
	return v
}

// uvarint32 decodes a zigzag varint that must fit in an int32 (at most five
// bytes). n is 0 if b is too short and negative if the value overflows.
func uvarint32(b []byte) (int32, int) {
	if len(b) > 0 && b[0] < 0x80 { // fast path: one byte
		return int32(b[0]>>1) ^ -int32(b[0]&1), 1
	}
	var x uint32
	for i := 0; i < len(b); i++ {
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, -(i + 1)
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(x>>1) ^ -int32(x&1), i + 1
		}
	}
	return 0, 0
}

func errVarint(what string, n int) error {
	if n == 0 {
		return fmt.Errorf("%s: truncated varint", what)
	}
	return fmt.Errorf("%s: varint overflows", what)
}

// AppendRecord appends r to dst in the wire format: a varint length, then
// the attributes, the deltas, and the payload (see AppendRecordPayload).
func AppendRecord(dst []byte, r Record) []byte {
	size := 1 + varintLen(r.TimestampDelta) + varintLen(int64(r.OffsetDelta)) + RecordPayloadSize(&r)
	dst = binary.AppendVarint(dst, int64(size))
	dst = append(dst, byte(r.Attributes))
	dst = binary.AppendVarint(dst, r.TimestampDelta)
	dst = binary.AppendVarint(dst, int64(r.OffsetDelta))
	return AppendRecordPayload(dst, &r)
}

// RecordPayloadSize is the encoded size of r's payload.
func RecordPayloadSize(r *Record) int {
	n := bytesLen(r.Key) + bytesLen(r.Value) + varintLen(int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		n += varintLen(int64(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	return n
}

// AppendRecordPayload appends the tail of a v2 record after its offset
// delta: key, value and headers with zigzag varint lengths (-1 = null). It
// is also the form in which SmartModules exchange records with the host.
func AppendRecordPayload(dst []byte, r *Record) []byte {
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}

// varintLen is the encoded size of v as a zigzag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

func bytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

// BuildBatch assembles a complete magic 2 batch holding records, compressed
// with c. From h it takes BaseOffset, PartitionLeaderEpoch, the attribute
// bits other than the codec, BaseTimestamp, MaxTimestamp and the producer
// fields; it sets Magic, Length, LastOffsetDelta, NumRecords, the codec bits
// and the CRC itself.
//
// Records are numbered 0..n-1 as a producer numbers them, whatever their
// OffsetDelta says, so the result always passes ValidateBatches. A batch
// needs at least one record.
func BuildBatch(h BatchHeader, records []Record, c Codec) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("build batch: no records, a batch needs at least one")
	}
	return buildBatch(h, records, c, true, int32(len(records)-1))
}

// BuildSparseBatch is BuildBatch for a batch whose records keep their
// OffsetDelta, as after compaction or a filter: deltas must increase and
// stay within lastOffsetDelta, which becomes the batch's (so a consumer
// moves past offsets no record holds). A batch may hold no record at all,
// as compaction leaves them; consumers skip it and go on after its last
// offset.
func BuildSparseBatch(h BatchHeader, records []Record, c Codec, lastOffsetDelta int32) ([]byte, error) {
	prev := int32(-1)
	for _, r := range records {
		if r.OffsetDelta <= prev || r.OffsetDelta > lastOffsetDelta {
			return nil, fmt.Errorf("build batch: offset delta %d after %d, last %d", r.OffsetDelta, prev, lastOffsetDelta)
		}
		prev = r.OffsetDelta
	}
	return buildBatch(h, records, c, false, lastOffsetDelta)
}

func buildBatch(h BatchHeader, records []Record, c Codec, renumber bool, lastOffsetDelta int32) ([]byte, error) {
	if c < CodecNone || c > CodecZstd {
		return nil, fmt.Errorf("build batch: unknown codec %d", int(c))
	}
	if len(records) > math.MaxInt32 {
		return nil, fmt.Errorf("build batch: %d records overflow the int32 count", len(records))
	}
	if len(records) == 0 {
		c = CodecNone // nothing to compress
	}
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+64*len(records))
	raw := b
	if c != CodecNone {
		raw = make([]byte, 0, 64*len(records))
	}
	for i, r := range records {
		if renumber {
			r.OffsetDelta = int32(i)
		}
		raw = AppendRecord(raw, r)
	}
	if c == CodecNone {
		b = raw
	} else {
		compressed, err := Compress(c, raw)
		if err != nil {
			return nil, fmt.Errorf("build batch: compress %s: %w", c, err)
		}
		b = append(b, compressed...)
	}
	if len(b)-lengthPrefixSize > math.MaxInt32 {
		return nil, fmt.Errorf("build batch: %d bytes overflow the int32 batch length", len(b))
	}
	h.Magic = CurrentMagic
	h.Length = int32(len(b) - lengthPrefixSize)
	h.Attributes = h.Attributes&^attrCodecMask | int16(c)
	h.NumRecords = int32(len(records))
	h.LastOffsetDelta = lastOffsetDelta
	putBatchHeader(b, h)
	binary.BigEndian.PutUint32(b[offCRC:], CRC32C(b[offAttributes:]))
	return b, nil
}
