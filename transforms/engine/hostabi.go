package engine

import (
	"context"
	"fmt"

	"github.com/skiffstream/skiff/protocol"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// hostModule is the import module name of the transform ABI.
const hostModule = "redpanda_transform"

// Return codes of the host functions to the module. Non-negative values are
// sizes.
const (
	codeNoRecord     int32 = -1 // read_next_record: no batch active or no record left; write: no batch active
	codeBufTooSmall  int32 = -2 // read_next_record: buf is smaller than the record's payload
	codeUnknownTopic int32 = -3 // write_record_with_options: not an output topic
	codeBadRecord    int32 = -4 // write_record*: the payload does not parse
	codeBadOptions   int32 = -5 // write_record_with_options: the options do not parse
	codeOutputLimit  int32 = -6 // write_record*: the batch's output is over MaxOutputBytes
)

// result encodes an i32 result on the stack.
func result(v int32) uint64 { return uint64(uint32(v)) }

type hostFunction struct {
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

var (
	i32 = api.ValueTypeI32
	// hostFunctions is the redpanda_transform ABI; pointers are i32 offsets
	// into the module's memory.
	hostFunctions = map[string]hostFunction{
		// The ABI markers. The instrumentation also calls the marker every
		// yieldEvery loop iterations (see interrupt.go).
		"check_abi_version_1": {nil, nil, checkABIVersion},
		"check_abi_version_2": {nil, nil, checkABIVersion},
		// (base_offset *i64, record_count *i32, partition_leader_epoch *i32,
		// attributes *i16, last_offset_delta *i32, base_timestamp *i64,
		// max_timestamp *i64, producer_id *i64, producer_epoch *i16,
		// base_sequence *i32) -> max payload size
		"read_batch_header": {[]api.ValueType{i32, i32, i32, i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}, readBatchHeader},
		// (attributes *u8, timestamp *i64, offset *i64, buf, len) -> size
		"read_next_record": {[]api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}, readNextRecord},
		// (buf, len) -> len
		"write_record": {[]api.ValueType{i32, i32}, []api.ValueType{i32}, writeRecord},
		// (buf, len, opts, opts_len) -> len
		"write_record_with_options": {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, writeRecordWithOptions},
	}
)

func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(hostModule)
	for name, f := range hostFunctions {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// checkABIVersion does nothing for the module, but the engine ends a module
// here when it is interrupted.
func checkABIVersion(ctx context.Context, mod api.Module, _ []uint64) {
	if inst := instanceOf(ctx); inst.stopping.Load() {
		inst.exit(ctx, mod, exitCodeAborted)
	}
}

type instanceKey struct{}

func instanceOf(ctx context.Context) *instance { return ctx.Value(instanceKey{}).(*instance) }

// readBatchHeader ends the current batch, if any, blocks until the next one
// arrives (or the instance is stopped) and writes its header fields.
func readBatchHeader(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceOf(ctx)
	inst.checkFault(ctx, mod)
	if j := inst.job; j != nil {
		inst.job = nil
		close(j.done)
	} else {
		inst.readyOnce.Do(func() { close(inst.ready) })
	}
	var j *job
	select {
	case j = <-inst.jobs:
	case <-ctx.Done():
		inst.exit(ctx, mod, 0)
	}
	inst.job, inst.next = j, 0
	h := &j.batch.Header
	mem := mod.Memory()
	ptr := func(i int) uint32 { return uint32(stack[i]) }
	ok := mem.WriteUint64Le(ptr(0), uint64(h.BaseOffset)) &&
		mem.WriteUint32Le(ptr(1), uint32(len(j.batch.Records))) &&
		mem.WriteUint32Le(ptr(2), uint32(h.PartitionLeaderEpoch)) &&
		mem.WriteUint16Le(ptr(3), uint16(h.Attributes&^int16(attrCodecMask))) &&
		mem.WriteUint32Le(ptr(4), uint32(h.LastOffsetDelta)) &&
		mem.WriteUint64Le(ptr(5), uint64(h.BaseTimestamp)) &&
		mem.WriteUint64Le(ptr(6), uint64(h.MaxTimestamp)) &&
		mem.WriteUint64Le(ptr(7), uint64(h.ProducerID)) &&
		mem.WriteUint16Le(ptr(8), uint16(h.ProducerEpoch)) &&
		mem.WriteUint32Le(ptr(9), uint32(h.BaseSequence))
	if !ok {
		inst.abort(ctx, mod, fmt.Errorf("%w: read_batch_header: a header field pointer is outside the %d bytes of memory", ErrBadPointer, mem.Size()))
	}
	maxSize := 0
	for i := range j.batch.Records {
		maxSize = max(maxSize, payloadSize(&j.batch.Records[i]))
	}
	stack[0] = result(int32(maxSize))
}

// attrCodecMask selects the compression codec bits of batch attributes. The
// module sees batches decompressed, so they are cleared.
const attrCodecMask = 0x07

// readNextRecord copies the payload of the next record into buf and writes
// its attributes, absolute timestamp and absolute offset.
func readNextRecord(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceOf(ctx)
	inst.checkFault(ctx, mod)
	attrPtr, tsPtr, offPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	buf, bufLen := uint32(stack[3]), int32(uint32(stack[4]))
	j := inst.job
	if j == nil || inst.next >= len(j.batch.Records) {
		stack[0] = result(codeNoRecord)
		return
	}
	h := &j.batch.Header
	r := &j.batch.Records[inst.next]
	size := payloadSize(r)
	if bufLen < 0 || size > int(bufLen) {
		stack[0] = result(codeBufTooSmall)
		return
	}
	mem := mod.Memory()
	view, ok := mem.Read(buf, uint32(size))
	if !ok {
		inst.abort(ctx, mod, fmt.Errorf("%w: read_next_record: buf %#x+%d is outside the %d bytes of memory", ErrBadPointer, buf, size, mem.Size()))
	}
	ts := h.BaseTimestamp + r.TimestampDelta
	if h.LogAppendTime() {
		ts = h.MaxTimestamp
	}
	ok = mem.WriteByte(attrPtr, byte(r.Attributes)) &&
		mem.WriteUint64Le(tsPtr, uint64(ts)) &&
		mem.WriteUint64Le(offPtr, uint64(h.BaseOffset+int64(r.OffsetDelta)))
	if !ok {
		inst.abort(ctx, mod, fmt.Errorf("%w: read_next_record: an attributes, timestamp or offset pointer is outside the %d bytes of memory", ErrBadPointer, mem.Size()))
	}
	appendPayload(view[:0], r)
	inst.next++
	stack[0] = result(int32(size))
}

// writeRecord emits a record to the first output topic.
func writeRecord(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceOf(ctx)
	inst.checkFault(ctx, mod)
	stack[0] = result(inst.write(ctx, mod, uint32(stack[0]), uint32(stack[1]), 0))
}

// writeRecordWithOptions emits a record to the output topic named in the
// options (tag 0x01, varint length, name), or to the first one if the
// options name none.
func writeRecordWithOptions(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceOf(ctx)
	inst.checkFault(ctx, mod)
	buf, bufLen := uint32(stack[0]), uint32(stack[1])
	opts, optsLen := uint32(stack[2]), uint32(stack[3])
	mem := mod.Memory()
	raw, ok := mem.Read(opts, optsLen)
	if !ok {
		inst.abort(ctx, mod, fmt.Errorf("%w: write_record_with_options: options %#x+%d are outside the %d bytes of memory", ErrBadPointer, opts, optsLen, mem.Size()))
	}
	if inst.job == nil {
		stack[0] = result(codeNoRecord)
		return
	}
	topic, code, err := inst.r.outputTopic(raw)
	if err != nil {
		inst.badWrite(err)
		stack[0] = result(code)
		return
	}
	stack[0] = result(inst.write(ctx, mod, buf, bufLen, topic))
}

// outputTopic resolves write options to the index of an output topic, or
// to the ABI code and error of a bad write.
func (r *Runner) outputTopic(opts []byte) (int, int32, error) {
	name, err := parseOptions(opts)
	if err != nil {
		return 0, codeBadOptions, fmt.Errorf("%w: %v", ErrBadOptions, err)
	}
	if name == "" {
		return 0, 0, nil
	}
	topic, ok := r.topics[name]
	if !ok {
		return 0, codeUnknownTopic, fmt.Errorf("%w: %q (outputs: %v)", ErrUnknownTopic, name, r.cfg.OutputTopics)
	}
	return topic, 0, nil
}

// write copies and parses one payload written by the module and appends it
// to the batch's outputs with the deltas of the input record being
// processed. It returns the ABI result code.
func (inst *instance) write(ctx context.Context, mod api.Module, buf, bufLen uint32, topic int) int32 {
	mem := mod.Memory()
	raw, ok := mem.Read(buf, bufLen)
	if !ok {
		inst.abort(ctx, mod, fmt.Errorf("%w: write_record: buf %#x+%d is outside the %d bytes of memory", ErrBadPointer, buf, bufLen, mem.Size()))
	}
	j := inst.job
	if j == nil {
		return codeNoRecord
	}
	if j.outBytes+len(raw) > inst.r.cfg.MaxOutputBytes {
		inst.badWrite(fmt.Errorf("%w: more than %d bytes", ErrOutputLimit, inst.r.cfg.MaxOutputBytes))
		return codeOutputLimit
	}
	data := j.alloc(len(raw))
	copy(data, raw)
	out := Output{Topic: topic, Input: inst.next - 1}
	if err := parsePayload(data, &out.Record); err != nil {
		inst.badWrite(fmt.Errorf("%w: %v", ErrBadRecord, err))
		return codeBadRecord
	}
	if out.Input >= 0 {
		in := &j.batch.Records[out.Input]
		out.Record.TimestampDelta = in.TimestampDelta
		out.Record.OffsetDelta = in.OffsetDelta
	}
	j.outBytes += len(data)
	j.outs = append(j.outs, out)
	return int32(bufLen)
}

// Output is one record written by a module.
type Output struct {
	// Topic is the index of the output topic in RunnerConfig.OutputTopics.
	Topic int
	// Input is the index in Batch.Records of the record the module was
	// processing when it wrote this one (the last one it read), or -1 if it
	// wrote before reading any record of the batch.
	Input int
	// Record holds the key, value and headers the module wrote. Its
	// TimestampDelta and OffsetDelta are those of the input record, relative
	// to the input batch's BaseTimestamp and BaseOffset (zero when Input is
	// -1), so outputs keep their input's timestamp. Attributes are zero.
	Record protocol.Record
}
