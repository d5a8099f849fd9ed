package chain

import (
	"errors"
	"strconv"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/engine"
)

// Headers DeadLetterRecord adds, so that whoever reads a dead-letter topic
// can tell what failed and find the record in its source.
const (
	HeaderError           = "skiff.error"            // why the module failed
	HeaderModule          = "skiff.module"           // the module that failed
	HeaderSourceTopic     = "skiff.source.topic"     // where the record was going
	HeaderSourcePartition = "skiff.source.partition" // decimal
	HeaderSourceOffset    = "skiff.source.offset"    // decimal
)

// DeadLetterRecord builds the record to write to the dead-letter topic for
// dl: the original input record in (key, value, headers, attributes and
// timestamp and offset deltas kept, so written in a batch with the source
// batch's BaseTimestamp it keeps its timestamp) with the headers above
// added after its own. in is not modified.
func DeadLetterRecord(in protocol.Record, dl FailedRecord, topic string, partition int32, offset int64) protocol.Record {
	cause := "unknown error"
	var be *engine.BatchError
	switch {
	case errors.As(dl.Err, &be) && be.Err != nil:
		// The module and the offset have headers of their own.
		cause = be.Err.Error()
	case dl.Err != nil:
		cause = dl.Err.Error()
	}
	out := in
	out.Headers = make([]protocol.RecordHeader, 0, len(in.Headers)+5)
	out.Headers = append(out.Headers, in.Headers...)
	out.Headers = append(out.Headers,
		protocol.RecordHeader{Key: HeaderError, Value: []byte(cause)},
		protocol.RecordHeader{Key: HeaderModule, Value: []byte(dl.Module)},
		protocol.RecordHeader{Key: HeaderSourceTopic, Value: []byte(topic)},
		protocol.RecordHeader{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(partition), 10)},
		protocol.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, offset, 10)},
	)
	return out
}
