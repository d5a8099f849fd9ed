//go:build !wasip1

package sdk

import "unsafe"

// Stubs so that the package and modules using it build (and vet) on the
// host; a module only runs when built with GOOS=wasip1 GOARCH=wasm.

const notWasm = "skiff sdk: a transform runs only as a WebAssembly module: build it with GOOS=wasip1 GOARCH=wasm"

func checkABIVersion2() { panic(notWasm) }

func readBatchHeader(_, _, _, _, _, _, _, _, _, _ unsafe.Pointer) int32 { panic(notWasm) }

func readNextRecord(_, _, _, _ unsafe.Pointer, _ int32) int32 { panic(notWasm) }

func writeRecord(_ unsafe.Pointer, _ int32) int32 { panic(notWasm) }

func writeRecordWithOptions(_ unsafe.Pointer, _ int32, _ unsafe.Pointer, _ int32) int32 {
	panic(notWasm)
}
