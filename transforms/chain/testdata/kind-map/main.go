// Command kind-map is a test module of the map kind that answers the kind
// probe itself, in the SDK's exact format, so the chain's probe is tested
// whatever the SDK does: with SKIFF_SDK_DESCRIBE=1 it prints
// {"skiff_sdk_kind":"map"} and exits; otherwise it upper-cases each value.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/skiffstream/skiff/transforms/sdk"
)

func main() {
	if os.Getenv("SKIFF_SDK_DESCRIBE") == "1" {
		fmt.Println(`{"skiff_sdk_kind":"map"}`)
		os.Exit(0)
	}
	sdk.Map(func(r sdk.Record) (sdk.Record, error) {
		r.Value = bytes.ToUpper(r.Value)
		return r, nil
	})
}
