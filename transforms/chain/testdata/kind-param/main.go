// Command kind-param is a test module that answers the kind probe with the
// kind named by its KIND parameter, so a test can tell a cached answer from
// a fresh one. It passes records through.
package main

import (
	"fmt"
	"os"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	if os.Getenv("SKIFF_SDK_DESCRIBE") == "1" {
		fmt.Printf("probing\n{\"skiff_sdk_kind\":%q}\n", os.Getenv("KIND"))
		os.Exit(0)
	}
	sdk.Map(func(r sdk.Record) (sdk.Record, error) { return r, nil })
}
