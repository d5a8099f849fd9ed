package engine

// Hand-assembled test modules. Memory layout shared by them:
//
//	0x0010  3 bytes of garbage (not a record payload)
//	0x00fd  a payload prefix: null key, value length 512 (zigzag varint)
//	0x0100  512 bytes dumped as that value; sentinels 0xaa to begin with:
//	        0x100 + 0x10*i: the pointer of read_batch_header's field i
//	        0x1a0 attributes, 0x1b0 timestamp, 0x1c0 offset (read_next_record)
//	        0x1d0 read_next_record's result, 0x1d4 a second one, 0x1d8 one
//	        with a one-byte buffer, 0x1e0 read_batch_header's result
//	        0x200 the record buffer (0x80 bytes)
//	0x0300  0 headers: the end of the dump payload, which spans 0xfd..0x301
//	0x0400  options naming topic "second"; 0x420 options naming "nope";
//	        0x440 options with an unknown tag

const (
	addrGarbage   = 0x10
	addrDump      = 0xfd
	dumpLen       = 0x204
	addrFields    = 0x100
	addrAttr      = 0x1a0
	addrTimestamp = 0x1b0
	addrOffset    = 0x1c0
	addrResult    = 0x1d0
	addrResult2   = 0x1d4
	addrResultBuf = 0x1d8
	addrMaxSize   = 0x1e0
	addrBuf       = 0x200
	bufLen        = 0x80
	addrOptSecond = 0x400
	addrOptNope   = 0x420
	addrOptBad    = 0x440
)

var (
	optSecond = []byte{0x01, 2 * 6, 's', 'e', 'c', 'o', 'n', 'd'}
	optNope   = []byte{0x01, 2 * 4, 'n', 'o', 'p', 'e'}
	optBad    = []byte{0x02, 0x00}
)

func layoutData() []wasmData {
	sentinels := make([]byte, 0x200)
	for i := range sentinels {
		sentinels[i] = 0xaa
	}
	return []wasmData{
		{addrGarbage, []byte{0x7f, 0x7f, 0x7f}},
		{addrDump, []byte{0x01, 0x80, 0x08}}, // null key; zigzag(512) = 1024
		{addrFields, sentinels},
		{0x300, []byte{0x00}},
		{addrOptSecond, optSecond},
		{addrOptNope, optNope},
		{addrOptBad, optBad},
	}
}

// readHeader calls read_batch_header with field i at addrFields+0x10*i and
// stores its result at addrMaxSize.
func readHeader() []byte {
	args := make([]int32, 10)
	for i := range args {
		args[i] = addrFields + 0x10*int32(i)
	}
	return storeResult(addrMaxSize, callWith(fnReadBatchHeader, args...))
}

func readRecord(resultAt, bufLen int32) []byte {
	return storeResult(resultAt, callWith(fnReadNextRecord, addrAttr, addrTimestamp, addrOffset, addrBuf, bufLen))
}

// probeModule reads each batch's header and one record (first with a
// one-byte buffer, then a real one, then once more) and writes the dump
// region as the value of one record: to the first output, or through
// write_record_with_options with the options at opts when opts is set.
func probeModule(opts int32, optsLen int32) []byte {
	write := cat(callWith(fnWriteRecord, addrDump, dumpLen), opDrop)
	if opts != 0 {
		write = cat(callWith(fnWriteRecordWithOptions, addrDump, dumpLen, opts, optsLen), opDrop)
	}
	return wasmModule{
		imports:  abiImports("check_abi_version_1"),
		memPages: 1,
		data:     layoutData(),
		start: cat(
			call(fnCheckABI),
			opLoop,
			readHeader(),
			readRecord(addrResultBuf, 1),
			readRecord(addrResult, bufLen),
			readRecord(addrResult2, bufLen),
			write,
			opBr0,
			opEnd,
		),
	}.bytes()
}

// chaosModule echoes every record (null key, value shorter than 64 bytes)
// to the first output, unless the value starts with a letter naming a
// misbehaviour:
//
//	X unreachable (a trap)     L an endless loop     M grows memory until it fails, then traps
//	G writes garbage           T writes to "nope"    O writes with bad options
//	P passes a bad pointer     S writes to "second", with options
func chaosModule() []byte {
	when := func(c byte, body ...[]byte) []byte {
		return cat(
			i32Const(addrBuf+2), []byte{0x2d, 0x00, 0x00}, // i32.load8_u: the value's first byte
			i32Const(int32(c)), []byte{0x46}, // i32.eq
			[]byte{0x04, 0x40}, cat(body...), opEnd, // if ... end
		)
	}
	loadSize := cat(i32Const(addrResult), []byte{0x28, 0x02, 0x00}) // i32.load
	return wasmModule{
		imports:  abiImports("check_abi_version_2"),
		memPages: 1,
		data:     layoutData(),
		start: cat(
			call(fnCheckABI),
			opLoop, // batches
			callWith(fnReadBatchHeader, 0x100, 0x110, 0x120, 0x130, 0x140, 0x150, 0x160, 0x170, 0x180, 0x190), opDrop,
			[]byte{0x02, 0x40}, // block: records
			opLoop,
			readRecord(addrResult, bufLen),
			loadSize, i32Const(0), []byte{0x48, 0x0d, 0x01}, // i32.lt_s; br_if 1: no record left
			when('X', opUnreachable),
			when('L', opLoop, opBr0, opEnd),
			when('M', opLoop, opGrowOrTrap, opBr0, opEnd),
			when('G', callWith(fnWriteRecord, addrGarbage, 3), opDrop),
			when('T', i32Const(addrBuf), loadSize, i32Const(addrOptNope), i32Const(int32(len(optNope))), call(fnWriteRecordWithOptions), opDrop),
			when('O', i32Const(addrBuf), loadSize, i32Const(addrOptBad), i32Const(int32(len(optBad))), call(fnWriteRecordWithOptions), opDrop),
			when('P', callWith(fnWriteRecord, -256, 16), opDrop),
			when('S', i32Const(addrBuf), loadSize, i32Const(addrOptSecond), i32Const(int32(len(optSecond))), call(fnWriteRecordWithOptions), opDrop),
			i32Const(addrBuf), loadSize, call(fnWriteRecord), opDrop, // echo
			opBr0,
			opEnd, opEnd, // loop, block
			opBr0,
			opEnd,
		),
	}.bytes()
}
