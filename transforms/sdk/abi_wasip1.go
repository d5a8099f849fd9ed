//go:build wasip1

package sdk

import "unsafe"

// The guest side of the redpanda_transform ABI. See the engine's package
// documentation for the contract of each function.

//go:wasmimport redpanda_transform check_abi_version_2
func checkABIVersion2()

//go:wasmimport redpanda_transform read_batch_header
func readBatchHeader(
	baseOffset, recordCount, partitionLeaderEpoch, attributes, lastOffsetDelta,
	baseTimestamp, maxTimestamp, producerID, producerEpoch, baseSequence unsafe.Pointer,
) int32

//go:wasmimport redpanda_transform read_next_record
func readNextRecord(attributes, timestamp, offset, buf unsafe.Pointer, len int32) int32

//go:wasmimport redpanda_transform write_record
func writeRecord(buf unsafe.Pointer, len int32) int32

//go:wasmimport redpanda_transform write_record_with_options
func writeRecordWithOptions(buf unsafe.Pointer, len int32, opts unsafe.Pointer, optsLen int32) int32
