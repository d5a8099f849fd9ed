// Package chain runs SmartModules in chains, as a transforms.yml describes
// them (Fluvio's format), with a deployment's error policy. It is what
// produce-time transforms, topic-to-topic deployments and read-time views
// share; the broker feeds it batches and writes what comes out.
//
// # Use
//
//	spec, _ := chain.ParseSpec(yml)                         // or chain.SingleStep("regex-filter", params)
//	policy, _ := chain.ParsePolicy("dead-letter:bad-records")
//	c, _ := chain.New(ctx, chain.Config{
//		Engine: eng, Resolve: resolve, InputTopic: "logs", OutputTopics: []string{"errors"}, Policy: policy,
//	}, spec)
//	res, err := c.Process(ctx, batch)                       // res.Outputs, res.DeadLetters, res.Skipped
//	...
//	c.Close()
//
// # Steps
//
// Each step is a module (Resolve finds it by its `uses:` name) with its
// `with:` parameters as environment variables. A step's outputs, to
// whichever output topic, are the next step's input; the last step's
// topics are the chain's. Every step's input records keep the offset and
// timestamp deltas of the original record they came from, so a module late
// in the chain sees the original offsets and timestamps, outputs keep
// their input's timestamp, and Output.Input names the original record.
//
// # Kinds
//
// New asks each module what it is by running it once with
// SKIFF_SDK_DESCRIBE=1 (Describe): a module built with Skiff's SDK prints
// {"skiff_sdk_kind":"filter"} and exits; any other module (Redpanda's SDK)
// asks for a batch and is of unknown kind. The kind decides two things: a
// view accepts only chains that write at most one record per input
// (MaxOutputsPerInput), and only the stateless kinds (filter, map,
// filter-map, array-map) run several instances at once. An aggregate, a
// general process module or an unknown one runs in one instance, so its
// state sees every record.
//
// # Error policies
//
// fail (the default) fails the batch; skip drops the input record a module
// failed on and counts it; dead-letter:TOPIC drops it and lists it for the
// caller, who writes DeadLetterRecord to TOPIC. Neither Fluvio nor Redpanda
// has the last two: there a bad record stops the stream.
//
// # Notes
//
//   - A failure that is not about one record (a module dying at start, a
//     closed chain, a cancelled context) is an error under every policy.
//   - A failed instance is replaced by a fresh one: an aggregate's state
//     does not survive a record its module failed on.
//   - Warm replays records for a Lookback without counting them or
//     returning what they become.
package chain
