package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record batch (magic 2) layout, see
// https://kafka.apache.org/documentation/#recordbatch. All integers are big
// endian. The CRC covers everything from the attributes to the end of the
// batch, so the base offset, length, partition leader epoch and magic can be
// rewritten without recomputing it.
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57

	// BatchHeaderSize is the size of a magic 2 record batch header, from
	// the base offset up to and including the record count.
	BatchHeaderSize = 61

	// lengthPrefixSize is the part of the header not counted by Length:
	// the base offset and the length itself.
	lengthPrefixSize = 12

	// minBatchLength is the smallest valid Length: a header with an empty
	// records section.
	minBatchLength = BatchHeaderSize - lengthPrefixSize

	// minMessageLength is the smallest Length of a message in any format
	// (a magic 0 message: CRC, magic, attributes, key and value lengths),
	// below which Kafka's log input stream calls the records corrupt.
	minMessageLength = 14

	// CurrentMagic is the only record batch format Skiff accepts.
	CurrentMagic = 2
)

// Attribute bits of a record batch.
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// Sentinel errors returned (wrapped) by the validators and parsers in this
// package. Test for them with errors.Is; each maps to one Kafka error code.
var (
	// ErrTruncatedBatch reports records that end before a batch does:
	// fewer bytes than its length field says, too few to hold the length
	// field, the magic or the header, or no batch at all. Kafka's log input
	// stream finds no batch there, and a Produce partition without one is
	// INVALID_RECORD.
	ErrTruncatedBatch = errors.New("truncated record batch")

	// ErrCorruptBatch reports a batch whose bytes are all there but wrong:
	// a length below the smallest message, a magic no format has, a CRC
	// mismatch, an unknown codec or compressed data that does not
	// decompress. Kafka: CORRUPT_MESSAGE.
	ErrCorruptBatch = errors.New("corrupt record batch")

	// ErrUnsupportedMagic reports a batch in a format older than magic 2
	// (Kafka < 0.11 message sets, magic 0 and 1). Kafka's Produce v3+:
	// INVALID_RECORD.
	ErrUnsupportedMagic = errors.New("unsupported record batch magic, only magic 2 (Kafka 0.11+ clients) is accepted")

	// ErrInvalidRecord reports a well-framed batch whose contents break the
	// rules: a bad record count or offset delta, or records that do not
	// parse. Kafka: INVALID_RECORD.
	ErrInvalidRecord = errors.New("invalid record")
)

// errShortHeader is preallocated so ParseBatchHeader never allocates.
var errShortHeader = fmt.Errorf("%w: fewer than %d bytes for a batch header", ErrTruncatedBatch, BatchHeaderSize)

// BatchHeader is the fixed-size header of a magic 2 record batch.
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // bytes after the Length field to the end of the batch
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32 // CRC-32C of the bytes from Attributes to the end
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Compression returns the codec the records section is compressed with.
// Values above CodecZstd are invalid and rejected by ValidateBatches.
func (h BatchHeader) Compression() Codec { return Codec(h.Attributes & attrCodecMask) }

// LogAppendTime reports whether the timestamp type is LogAppendTime, in which
// case MaxTimestamp is the broker's append time for every record.
func (h BatchHeader) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (h BatchHeader) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds control records (transaction
// markers). Clients may not produce these; the broker should refuse them.
func (h BatchHeader) Control() bool { return h.Attributes&attrControl != 0 }

// TotalSize returns the size of the whole batch in bytes, header included.
func (h BatchHeader) TotalSize() int { return lengthPrefixSize + int(h.Length) }

// ParseBatchHeader decodes the first BatchHeaderSize bytes of b. It only
// decodes: it checks neither magic, length nor CRC (ValidateBatches does). It
// does not allocate.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, errShortHeader
	}
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		Length:               int32(be.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(be.Uint32(b[offNumRecords:])),
	}, nil
}

// putBatchHeader writes h into b[:BatchHeaderSize] as is (CRC included).
func putBatchHeader(b []byte, h BatchHeader) {
	be := binary.BigEndian
	be.PutUint64(b[offBaseOffset:], uint64(h.BaseOffset))
	be.PutUint32(b[offLength:], uint32(h.Length))
	be.PutUint32(b[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	b[offMagic] = byte(h.Magic)
	be.PutUint32(b[offCRC:], h.CRC)
	be.PutUint16(b[offAttributes:], uint16(h.Attributes))
	be.PutUint32(b[offLastOffsetDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(b[offBaseTimestamp:], uint64(h.BaseTimestamp))
	be.PutUint64(b[offMaxTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	be.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	be.PutUint32(b[offNumRecords:], uint32(h.NumRecords))
}

// ValidateBatches checks the Records field of a Produce request partition:
// one or more concatenated magic 2 record batches, and returns their headers.
// Errors wrap ErrTruncatedBatch, ErrCorruptBatch, ErrUnsupportedMagic or
// ErrInvalidRecord and name the batch and what is wrong.
//
// Each batch is framed as NextBatch does (it must end within records: no
// trailing partial batch), and must have magic 2, a Length of at least 49, a
// matching CRC-32C, a known codec, NumRecords ≥ 1 and LastOffsetDelta ==
// NumRecords-1. The records of an uncompressed batch must parse into exactly
// NumRecords records with offset deltas 0, 1, 2, … and no trailing bytes.
// The checks run in that order, Kafka's: a truncated batch is
// ErrTruncatedBatch whatever else is wrong with it, and a legacy message
// ErrUnsupportedMagic whatever its CRC.
//
// # Notes
//
//   - Compressed batches are checked at the header level only, because
//     decompression needs a size limit: call ParseRecords to check their
//     records.
//   - BaseOffset may hold anything (the broker rewrites it) and MaxTimestamp
//     may be below BaseTimestamp, as in Kafka.
//   - Kafka's Produce v3+ accepts exactly one batch per partition (and
//     ignores a partial one after it), requires base offset 0 and refuses
//     control batches from clients; those are broker policy, left to the
//     caller (NextBatch, BatchHeader.Control).
//   - ValidateBatches allocates only the returned slice; use
//     AppendValidBatches with a reused slice to avoid even that.
func ValidateBatches(records []byte) ([]BatchHeader, error) {
	headers, err := AppendValidBatches(nil, records)
	if err != nil {
		return nil, err
	}
	return headers, nil
}

// AppendValidBatches is ValidateBatches appending the headers to dst. With
// enough capacity in dst it does not allocate for uncompressed batches. On
// error it returns dst unchanged.
func AppendValidBatches(dst []BatchHeader, records []byte) ([]BatchHeader, error) {
	if len(records) == 0 {
		return dst, fmt.Errorf("%w: no record batches: a produce partition must carry at least one batch", ErrTruncatedBatch)
	}
	n0 := len(dst)
	for off := 0; off < len(records); {
		batch, _, err := NextBatch(records[off:])
		var h BatchHeader
		if err == nil {
			h, err = validateBatch(batch)
		}
		if err != nil {
			return dst[:n0], fmt.Errorf("batch %d at byte %d: %w", len(dst)-n0, off, err)
		}
		dst = append(dst, h)
		off += len(batch)
	}
	return dst, nil
}

// NextBatch frames the batch at the start of records as Kafka's log input
// stream (ByteBufferLogInputStream) does, by its length and magic fields
// only, and returns the batch and the bytes after it. Errors wrap
// ErrTruncatedBatch when records end before the batch does (before its
// length field, its magic, or the end its length names), and
// ErrCorruptBatch for a length below 14 or a magic outside 0-2. The checks
// run in Kafka's order: length field, length, magic field, magic, end.
//
// NextBatch checks nothing else (validateBatch, through ValidateBatches,
// does), so it also frames legacy message sets (magic 0 and 1).
func NextBatch(records []byte) (batch, rest []byte, err error) {
	if len(records) < lengthPrefixSize {
		return nil, records, fmt.Errorf("%w: %d bytes are too few to hold a batch length", ErrTruncatedBatch, len(records))
	}
	length := int32(binary.BigEndian.Uint32(records[offLength:]))
	if length < minMessageLength {
		return nil, records, fmt.Errorf("%w: batch length %d is below the minimum %d of any message format", ErrCorruptBatch, length, minMessageLength)
	}
	if len(records) <= offMagic {
		return nil, records, fmt.Errorf("%w: %d bytes are too few to hold a batch magic", ErrTruncatedBatch, len(records))
	}
	if m := int8(records[offMagic]); m < 0 || m > CurrentMagic {
		return nil, records, fmt.Errorf("%w: magic %d is no record format", ErrCorruptBatch, m)
	}
	if int64(length) > int64(len(records)-lengthPrefixSize) {
		return nil, records, fmt.Errorf("%w: batch length %d does not fit the %d bytes that follow it", ErrTruncatedBatch, length, len(records)-lengthPrefixSize)
	}
	n := lengthPrefixSize + int(length)
	return records[:n], records[n:], nil
}

// validateBatch checks one batch framed by NextBatch.
func validateBatch(batch []byte) (BatchHeader, error) {
	if batch[offMagic] != CurrentMagic {
		return BatchHeader{}, fmt.Errorf("%w: got magic %d", ErrUnsupportedMagic, int8(batch[offMagic]))
	}
	if len(batch) < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: batch length %d is below the minimum %d", ErrCorruptBatch, len(batch)-lengthPrefixSize, minBatchLength)
	}
	h, _ := ParseBatchHeader(batch)
	if crc := CRC32C(batch[offAttributes:]); crc != h.CRC {
		return h, fmt.Errorf("%w: CRC-32C mismatch: header has 0x%08x, data has 0x%08x", ErrCorruptBatch, h.CRC, crc)
	}
	if c := h.Compression(); c > CodecZstd {
		return h, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptBatch, int(c))
	}
	if h.NumRecords < 1 {
		return h, fmt.Errorf("%w: record count %d, a produced batch needs at least one record", ErrInvalidRecord, h.NumRecords)
	}
	if h.LastOffsetDelta != h.NumRecords-1 {
		return h, fmt.Errorf("%w: last offset delta %d does not match record count %d", ErrInvalidRecord, h.LastOffsetDelta, h.NumRecords)
	}
	if h.Compression() == CodecNone {
		if err := checkRecords(batch[BatchHeaderSize:], h.NumRecords); err != nil {
			return h, err
		}
	}
	return h, nil
}

// SetBaseOffset rewrites the base offset of the batch at the start of b. The
// CRC does not cover it, so the batch stays valid.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch rewrites the partition leader epoch of the batch at
// the start of b. The CRC does not cover it, so the batch stays valid.
func SetPartitionLeaderEpoch(b []byte, e int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(e))
}

// SetLogAppendTime stamps the batch at the start of b with the broker's
// append time, as Kafka does for topics with
// message.timestamp.type=LogAppendTime: it sets the timestamp-type attribute
// bit and MaxTimestamp to ts, keeps the other attributes and BaseTimestamp,
// and recomputes the CRC. b must hold the whole batch (see
// BatchHeader.TotalSize). Consumers then report ts for every record.
func SetLogAppendTime(b []byte, ts int64) {
	be := binary.BigEndian
	total := lengthPrefixSize + int(int32(be.Uint32(b[offLength:])))
	batch := b[:total]
	attrs := be.Uint16(batch[offAttributes:])
	if attrs&attrLogAppendTime != 0 && int64(be.Uint64(batch[offMaxTimestamp:])) == ts {
		return // already stamped; the CRC is unchanged
	}
	be.PutUint16(batch[offAttributes:], attrs|attrLogAppendTime)
	be.PutUint64(batch[offMaxTimestamp:], uint64(ts))
	be.PutUint32(batch[offCRC:], CRC32C(batch[offAttributes:]))
}

// castagnoli is the CRC-32C table; hash/crc32 uses the CPU's CRC32
// instructions for it where available.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32C returns the CRC-32C (Castagnoli) checksum of b, the checksum record
// batches carry.
func CRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
