// Package modinit holds what the WebAssembly builds of the built-in
// modules share in their init step: failing the deployment with a message
// that says what to fix.
package modinit

import (
	"os"

	"github.com/skiffstream/skiff/transforms/sdk"
)

// Fail ends a failed init step: it prints "module: err" to stderr and
// exits with code 1, which the engine reports as the deployment's error.
// Under a describe probe (sdk.DescribeEnv), which runs a module to learn
// its kind, perhaps without parameters, it returns: the module then calls
// its kind, which answers the probe without using what failed.
func Fail(module string, err error) {
	if os.Getenv(sdk.DescribeEnv) == "1" {
		return
	}
	os.Stderr.WriteString(module + ": " + err.Error() + "\n")
	os.Exit(1)
}
