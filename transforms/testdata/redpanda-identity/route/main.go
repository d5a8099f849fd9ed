// Command route is a transform built with Redpanda's Go SDK v1.1.0 that
// writes each record to the default output topic and, through
// write_record_with_options, a copy with an "echo:" value prefix to the
// topic named by the ROUTE_TO environment variable (a --var of the
// deployment; the second output topic when unset).
package main

import (
	"os"

	"github.com/redpanda-data/redpanda/src/transform-sdk/go/transform"
)

func main() {
	to, ok := os.LookupEnv("ROUTE_TO")
	if !ok {
		to = os.Getenv("REDPANDA_OUTPUT_TOPIC_1")
	}
	transform.OnRecordWritten(func(e transform.WriteEvent, w transform.RecordWriter) error {
		r := e.Record()
		if err := w.Write(r); err != nil {
			return err
		}
		r.Value = append([]byte("echo:"), r.Value...)
		return w.Write(r, transform.ToTopic(to))
	})
}
