// Command jolt is the built-in jolt SmartModule; see funcs.Jolt for what
// it does and its parameters. The broker runs the same code natively
// (builtin.NewNative); this is its WebAssembly build, for hosts and tools
// that run modules as WebAssembly.
package main

import (
	"github.com/skiffstream/skiff/transforms/builtin/funcs"
	"github.com/skiffstream/skiff/transforms/builtin/internal/modinit"
	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	m, err := funcs.Jolt(sdk.Params())
	if err != nil {
		modinit.Fail("jolt", err)
	}
	sdk.Map(m.Map)
}
