// Command regex-filter is the built-in regex-filter SmartModule; see funcs.RegexFilter for what
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
	m, err := funcs.RegexFilter(sdk.Params())
	if err != nil {
		modinit.Fail("regex-filter", err)
	}
	sdk.Filter(m.Filter)
}
