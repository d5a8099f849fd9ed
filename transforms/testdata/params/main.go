// Command params is a test module of the general kind (sdk.Process): for
// each record it writes, to every output topic by name, a record whose
// value is JSON naming the parameters, the input and output topics, and the
// record's offset and timestamp as the module saw them.
package main

import (
	"encoding/json"

	"github.com/skiffstream/skiff/transforms/sdk"
)

type report struct {
	Params    map[string]string
	Input     string
	Outputs   []string
	Offset    int64
	Timestamp int64
	Key       string
	Headers   map[string]string
}

func main() {
	params, input, outputs := sdk.Params(), sdk.InputTopic(), sdk.OutputTopics()
	sdk.Process(func(r sdk.Record, w *sdk.Writer) error {
		rep := report{Params: params, Input: input, Outputs: outputs, Offset: r.Offset,
			Timestamp: r.Timestamp.UnixMilli(), Key: string(r.Key), Headers: map[string]string{}}
		for _, h := range r.Headers {
			rep.Headers[h.Key] = string(h.Value)
		}
		value, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		for _, t := range outputs {
			if err := w.WriteTo(t, sdk.Record{Key: r.Key, Value: value}); err != nil {
				return err
			}
		}
		return nil
	})
}
