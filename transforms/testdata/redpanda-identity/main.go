// Command redpanda-identity is a transform built with Redpanda's Go SDK
// v1.1.0, unchanged from its documentation's identity example: each record
// is written as it is to the output topic. Skiff's tests build it to show
// that such modules run on Skiff. It is its own Go module so that Skiff's
// module does not depend on Redpanda's SDK.
package main

import (
	"github.com/redpanda-data/redpanda/src/transform-sdk/go/transform"
)

func main() {
	transform.OnRecordWritten(identity)
}

func identity(e transform.WriteEvent, w transform.RecordWriter) error {
	return w.Write(e.Record())
}
