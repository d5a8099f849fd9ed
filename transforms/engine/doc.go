// Package engine runs SmartModules: WebAssembly modules that read the
// records of a batch and write zero or more records to one or more output
// topics. It hosts one ABI, the one Redpanda data transforms use (host
// module `redpanda_transform`), so modules built with Redpanda's transform
// SDKs run unchanged, and so do modules built with Skiff's own SDK
// (transforms/sdk). See ../shared/DESIGN.md decision 7.
//
// # Use
//
//	e, _ := engine.New(ctx, engine.Config{CacheDir: dataDir + "/wasm-cache"})   // one per node
//	m, _ := e.Load(ctx, "regex-filter", wasm)                                   // compiled once per content hash
//	r, _ := m.NewRunner(ctx, engine.RunnerConfig{
//		Env:          map[string]string{"regex": "^ERROR"},
//		InputTopic:   "logs",
//		OutputTopics: []string{"errors"},
//	})
//	outs, err := r.ProcessBatch(ctx, engine.Batch{Header: h, Records: records})
//	...
//	r.Close(); m.Close(ctx); e.Close(ctx)
//
// An Engine is one wazero Runtime with a compilation cache (on disk when
// Config.CacheDir is set), WASI preview 1 and the transform host module. A
// Module is a compiled module; loading the same bytes again reuses the
// compilation. A Runner runs batches through instances of a module with one
// configuration (parameters, topics, limits): an instance is started once
// and kept for the next batch, so state kept in module memory (an
// aggregate's accumulator) lives across batches. Up to
// RunnerConfig.Instances batches run at once, each in its own instance.
//
// # The ABI
//
// A module is a WASI preview 1 command exporting `_start` and `memory` and
// importing check_abi_version_1 or check_abi_version_2 (no-op markers). The
// engine calls `_start` in a goroutine of its own; the module's main
// registers its callback and loops, calling (pointers are i32 offsets into
// its memory, integers little-endian):
//
//   - read_batch_header(base_offset *i64, record_count *i32,
//     partition_leader_epoch *i32, attributes *i16, last_offset_delta *i32,
//     base_timestamp *i64, max_timestamp *i64, producer_id *i64,
//     producer_epoch *i16, base_sequence *i32) i32: ends the previous batch,
//     blocks until the next one arrives, writes its header and returns the
//     size of its largest record payload. Attributes have the codec bits
//     cleared: the module sees records decompressed.
//   - read_next_record(attributes *u8, timestamp *i64, offset *i64, buf, len) i32:
//     copies the next record's payload into buf and returns its size; -1
//     when no record is left, -2 when len is too small (the record is not
//     consumed). Timestamp (the batch's max timestamp for LogAppendTime)
//     and offset are absolute.
//   - write_record(buf, len) i32: writes a record to the first output
//     topic; returns len.
//   - write_record_with_options(buf, len, opts, opts_len) i32: the same,
//     with options: tag 0x01, a varint length and an output topic name.
//     A topic that is not an output returns -3.
//
// A payload is the tail of a Kafka v2 record: zigzag varint key length (-1
// null) and key, value length and value, header count, and per header key
// length, key, value length (-1 null), value. Other codes: -4 a payload that
// does not parse, -5 options that do not parse, -6 the batch's output limit.
//
// The engine sets the environment: each RunnerConfig.Env entry, plus
// REDPANDA_INPUT_TOPIC and REDPANDA_OUTPUT_TOPIC_0..N-1. A module's stdout
// and stderr go to the Config.Logger, a line per record, tagged with the
// module's name and the stream.
//
// # Outputs
//
// Each output keeps the timestamp and offset deltas of the input record the
// module was processing when it wrote it (Output.Input), so outputs keep
// their input's timestamp, and a view can keep source offsets. Key, value
// and headers are exactly what the module wrote: the SDKs pass the input's
// headers through when the module writes the input record back.
//
// # Limits and failures
//
// Each instance has a memory limit (RunnerConfig.MemoryLimit, 16 MiB by
// default, at most Config.MaxMemoryLimit, which is wazero's memory limit for
// the runtime), each batch a time limit (BatchTimeout) and an output limit
// (MaxOutputBytes); modules have a size limit (Config.MaxModuleSize). A
// trap, a limit, an exit, a bad write (a payload that does not parse, a
// topic that is not an output) or a pointer outside memory fails the batch
// with a *BatchError that names the input record the module was on and
// wraps one of the Err* values, with the line of the module's stderr that
// explains it best ("panic: ..."). Only that instance is dropped; the next
// batch gets a fresh one. The outputs of the records before the failing one
// come with the error, so an error policy can skip the record (or send it to
// a dead-letter topic) and run the rest of the batch.
//
// # Why the time limit is compiled into the module
//
// Load rewrites each module (interrupt.go) so that every loop header and
// function entry counts down a budget and calls into the host when it runs
// out, every 10 000 iterations; the host ends a module whose batch is over
// time there. wazero's RuntimeConfig.WithCloseOnContextDone does the same
// job by leaving compiled code for Go at every loop header, which made Go
// modules 2 to 3 times slower end to end (a tight loop 9 times). Calling
// into the host regularly matters for more than the time limit: Go cannot
// preempt compiled WebAssembly, so a garbage collection (which stops every
// goroutine) waits for each running module to come back into Go; a module
// that never did would stall the whole broker, timers included.
//
// # Notes
//
//   - Sleeping (WASI poll_oneoff) returns at once: a transform has no reason
//     to sleep, and a sleeping module could not be interrupted.
//   - The time limit of a batch includes the start of a fresh instance (a
//     Go module's runtime initialisation, about a millisecond).
//   - A module waiting in read_batch_header costs a parked goroutine and
//     its memory, nothing else.
//   - After a bad write the module gets the error code back and is ended
//     at its next call into the host, so it may print the error first.
//   - Modules importing the schema registry ABI (redpanda_schema_registry)
//     are refused at Load.
package engine
