package broker

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config is a node's configuration. cmd/skiff fills it from flags, the
// config file and SKIFF_* environment variables.
type Config struct {
	NodeID    int32
	Listen    string // host:port the Kafka listener binds
	Advertise string // host:port clients are told to connect to
	DataDir   string

	AutoCreateTopics         bool  // auto.create.topics.enable
	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	MaxRequestSize           int   // socket.request.max.bytes
	MessageMaxBytes          int32 // message.max.bytes (default max.message.bytes of topics)
	LogRetentionMs           int64 // log.retention.ms
	LogRetentionBytes        int64 // log.retention.bytes
	RetentionCheckInterval   time.Duration

	// GroupInitialRebalanceDelay is group.initial.rebalance.delay.ms: how
	// long an empty group waits for more members before its first
	// rebalance (extended by each new member, up to the rebalance
	// timeout). Kafka's default is 3 s and its shipped server.properties
	// sets 0; Skiff's 300 ms lets a fleet started together join as one
	// rebalance while a single consumer starts quickly.
	GroupInitialRebalanceDelay time.Duration
	GroupMinSessionTimeout     time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeout     time.Duration // group.max.session.timeout.ms

	// OffsetsRetention is offsets.retention.minutes: the committed offsets
	// of a group that has been empty this long expire, and so does the
	// group (see groups_retention.go). Kafka's default is 7 days; 0 means
	// that default.
	OffsetsRetention time.Duration
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms
	// (Kafka: 10 minutes; 0 means that, but never more than OffsetsRetention).
	OffsetsRetentionCheckInterval time.Duration

	// The consumer group protocol (KIP-848, consumer_group.go):
	// group.consumer.session.timeout.ms, group.consumer.heartbeat.interval.ms
	// and group.consumer.assignors (uniform and range; the first is the
	// default). Zero values mean Kafka's defaults: 45 s, 5 s, uniform+range.
	ConsumerGroupSessionTimeout    time.Duration
	ConsumerGroupHeartbeatInterval time.Duration
	ConsumerGroupAssignors         []string

	// TransformMemoryLimit and TransformBatchTimeout bound each
	// SmartModule instance (0: the engine's defaults, 16 MiB and 5 s).
	TransformMemoryLimit  int64
	TransformBatchTimeout time.Duration
	// TransformCacheDir holds compiled SmartModules (default:
	// <DataDir>/wasm-cache).
	TransformCacheDir string

	Logger *slog.Logger
}

// DefaultConfig is a single local node that needs no configuration.
func DefaultConfig() Config {
	return Config{
		NodeID:                   1,
		Listen:                   "127.0.0.1:9092",
		DataDir:                  "./skiff-data",
		AutoCreateTopics:         true,
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		MaxRequestSize:           100 << 20,
		MessageMaxBytes:          1048588,
		LogRetentionMs:           7 * 24 * 3600 * 1000,
		LogRetentionBytes:        -1,
		RetentionCheckInterval:   30 * time.Second,

		GroupInitialRebalanceDelay: 300 * time.Millisecond,
		GroupMinSessionTimeout:     6 * time.Second,
		GroupMaxSessionTimeout:     30 * time.Minute,

		OffsetsRetention:              7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval: 10 * time.Minute,

		ConsumerGroupSessionTimeout:    45 * time.Second,
		ConsumerGroupHeartbeatInterval: 5 * time.Second,
		ConsumerGroupAssignors:         []string{"uniform", "range"},
	}
}

// configDef describes one topic config as Kafka does: its default comes from
// a broker config (its synonym) or is fixed.
type configDef struct {
	name  string
	typ   int8 // kmsg.ConfigType
	def   func(c *Config) string
	check func(v string) error
	doc   string
}

func fixed(v string) func(*Config) string { return func(*Config) string { return v } }

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, ok := range vals {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(vals, ", "))
	}
}

func isLong(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func isInt(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("not a 32-bit number")
		}
		if n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func isBool(v string) error {
	if v != "true" && v != "false" {
		return fmt.Errorf("must be true or false")
	}
	return nil
}

func isDouble(v string) error {
	_, err := strconv.ParseFloat(v, 64)
	return err
}

const maxLong = "9223372036854775807"

var (
	ctBoolean = int8(kmsg.ConfigTypeBoolean)
	ctString  = int8(kmsg.ConfigTypeString)
	ctInt     = int8(kmsg.ConfigTypeInt)
	ctLong    = int8(kmsg.ConfigTypeLong)
	ctDouble  = int8(kmsg.ConfigTypeDouble)
	ctList    = int8(kmsg.ConfigTypeList)
)

// topicConfigs are the topic configs Skiff knows, with Kafka 4.x defaults.
// Skiff honours retention.ms, retention.bytes, max.message.bytes and
// message.timestamp.type; the rest are stored and described so tools work.
var topicConfigs = []configDef{
	{"cleanup.policy", ctList, fixed("delete"), oneOf("delete", "compact", "compact,delete", "delete,compact"), "Retention policy: delete old segments, or compact (compaction is not implemented yet: compacted topics keep all records)."},
	{"compression.type", ctString, fixed("producer"), oneOf("producer"), "Skiff stores batches as the producer compressed them; only 'producer' is supported."},
	{"delete.retention.ms", ctLong, fixed("86400000"), isLong(0), "How long delete tombstones are kept for compacted topics."},
	{"file.delete.delay.ms", ctLong, fixed("60000"), isLong(0), "Kept for compatibility; Skiff deletes data with range deletes."},
	{"flush.messages", ctLong, fixed(maxLong), isLong(1), "Kept for compatibility; Skiff fsyncs every acknowledged write."},
	{"flush.ms", ctLong, fixed(maxLong), isLong(0), "Kept for compatibility; Skiff fsyncs every acknowledged write."},
	{"index.interval.bytes", ctInt, fixed("4096"), isInt(0), "Kept for compatibility; Skiff indexes every batch."},
	{"max.compaction.lag.ms", ctLong, fixed(maxLong), isLong(1), "Maximum time a record stays uncompacted."},
	{"max.message.bytes", ctInt, func(c *Config) string { return strconv.Itoa(int(c.MessageMaxBytes)) }, isInt(0), "Largest record batch the topic accepts."},
	{"message.timestamp.after.max.ms", ctLong, fixed("3600000"), isLong(0), "How far in the future a CreateTime timestamp may be (Kafka 4's default: one hour)."},
	{"message.timestamp.before.max.ms", ctLong, fixed(maxLong), isLong(0), "How far in the past a CreateTime timestamp may be."},
	{"message.timestamp.type", ctString, fixed("CreateTime"), oneOf("CreateTime", "LogAppendTime"), "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's time."},
	{"min.cleanable.dirty.ratio", ctDouble, fixed("0.5"), isDouble, "Compaction trigger ratio."},
	{"min.compaction.lag.ms", ctLong, fixed("0"), isLong(0), "Minimum time a record stays uncompacted."},
	{"min.insync.replicas", ctInt, fixed("1"), isInt(1), "Replicas that must acknowledge an acks=all write."},
	{"preallocate", ctBoolean, fixed("false"), isBool, "Kept for compatibility."},
	{"retention.bytes", ctLong, func(c *Config) string { return strconv.FormatInt(c.LogRetentionBytes, 10) }, isLong(-1), "Largest size of a partition before the oldest batches are deleted; -1 is unlimited."},
	{"retention.ms", ctLong, func(c *Config) string { return strconv.FormatInt(c.LogRetentionMs, 10) }, isLong(-1), "Age after which batches are deleted; -1 keeps them forever."},
	{"segment.bytes", ctInt, fixed("1073741824"), isInt(14), "Size at which a partition's segment file rolls over; retention frees disk a whole segment at a time."},
	{"segment.index.bytes", ctInt, fixed("10485760"), isInt(4), "Kept for compatibility."},
	{"segment.jitter.ms", ctLong, fixed("0"), isLong(0), "Kept for compatibility."},
	{"segment.ms", ctLong, fixed("604800000"), isLong(1), "Kept for compatibility; segments roll over by size only."},
	{"unclean.leader.election.enable", ctBoolean, fixed("false"), isBool, "Raft never elects an unclean leader."},
	// Skiff's SmartModule configs (smartmodules.go); the broker checks
	// their values further when they are set.
	{cfgIngestTransforms, ctString, fixed(""), anyString, "Produce-time SmartModules: a transforms.yml whose chain runs over each produced batch before it is stored (skiff topic create --ingest-transforms-file)."},
	{cfgIngestPolicy, ctString, fixed("fail"), anyString, "What a produce-time SmartModule error does: fail (the producer gets the error, nothing of the batch is stored), skip (the record is dropped and counted) or dead-letter:TOPIC (the record goes to TOPIC with headers naming the error)."},
	{cfgViewOf, ctString, fixed(""), anyString, "Set on a read-time view: the topic it reads (skiff topic create V --view-of T). Set at creation only."},
	{cfgViewTransforms, ctString, fixed(""), anyString, "The transforms.yml a view's Fetch runs over its source's batches."},
}

func anyString(string) error { return nil }

// brokerSynonyms names, for each topic config, the broker configs that
// supply its default, in Kafka's order (ServerTopicConfigSynonyms, then
// DynamicBrokerConfig.brokerConfigSynonyms of the first): a broker setting
// of the first overrides the rest. DescribeConfigs lists them as synonyms.
var brokerSynonyms = map[string][]string{
	"cleanup.policy":                  {"log.cleanup.policy"},
	"compression.type":                {"compression.type"},
	"delete.retention.ms":             {"log.cleaner.delete.retention.ms"},
	"file.delete.delay.ms":            {"log.segment.delete.delay.ms"},
	"flush.messages":                  {"log.flush.interval.messages"},
	"flush.ms":                        {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
	"index.interval.bytes":            {"log.index.interval.bytes"},
	"max.compaction.lag.ms":           {"log.cleaner.max.compaction.lag.ms"},
	"max.message.bytes":               {"message.max.bytes"},
	"message.timestamp.after.max.ms":  {"log.message.timestamp.after.max.ms"},
	"message.timestamp.before.max.ms": {"log.message.timestamp.before.max.ms"},
	"message.timestamp.type":          {"log.message.timestamp.type"},
	"min.cleanable.dirty.ratio":       {"log.cleaner.min.cleanable.ratio"},
	"min.compaction.lag.ms":           {"log.cleaner.min.compaction.lag.ms"},
	"min.insync.replicas":             {"min.insync.replicas"},
	"preallocate":                     {"log.preallocate"},
	"retention.bytes":                 {"log.retention.bytes"},
	"retention.ms":                    {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
	"segment.bytes":                   {"log.segment.bytes"},
	"segment.index.bytes":             {"log.index.size.max.bytes"},
	"segment.jitter.ms":               {"log.roll.jitter.ms", "log.roll.jitter.hours"},
	"segment.ms":                      {"log.roll.ms", "log.roll.hours"},
	"unclean.leader.election.enable":  {"unclean.leader.election.enable"},
}

// synonymDefaults are Kafka's built-in defaults of the broker configs in
// brokerSynonyms whose default is not their topic config's: "" where Kafka
// has none (the next synonym supplies the value).
var synonymDefaults = map[string]string{
	"log.flush.interval.ms":           "",
	"log.flush.scheduler.interval.ms": maxLong,
	"log.retention.ms":                "",
	"log.retention.minutes":           "",
	"log.retention.hours":             "168",
	"log.roll.jitter.ms":              "",
	"log.roll.jitter.hours":           "0",
	"log.roll.ms":                     "",
	"log.roll.hours":                  "168",
}

func findTopicConfig(name string) (configDef, bool) {
	for _, d := range topicConfigs {
		if d.name == name {
			return d, true
		}
	}
	return configDef{}, false
}

// validateTopicConfig returns a message for an unknown name or bad value.
// A nil value deletes the config (back to its default); deleting a name
// Skiff does not know is accepted, as Kafka does.
func validateTopicConfig(name string, value *string) error {
	d, ok := findTopicConfig(name)
	if value == nil {
		return nil
	}
	if !ok {
		return fmt.Errorf("unknown topic config %q", name)
	}
	if err := d.check(*value); err != nil {
		return fmt.Errorf("invalid value %q for config %s: %v", *value, name, err)
	}
	return nil
}

// topicConfig is the parsed view of a topic's effective configs that the hot
// paths use.
type topicConfig struct {
	retentionMs     int64
	retentionBytes  int64
	maxMessageBytes int
	segmentBytes    int64
	logAppendTime   bool
	compact         bool
	// CreateTime bounds: batches outside [now-before, now+after] get
	// INVALID_TIMESTAMP.
	timestampAfterMs, timestampBeforeMs int64
}

func (b *Broker) parseTopicConfig(set map[string]string) topicConfig {
	get := func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		d, _ := findTopicConfig(name)
		return d.def(&b.cfg)
	}
	num := func(name string) int64 {
		n, _ := strconv.ParseInt(get(name), 10, 64)
		return n
	}
	return topicConfig{
		retentionMs:     num("retention.ms"),
		retentionBytes:  num("retention.bytes"),
		maxMessageBytes: int(num("max.message.bytes")),
		segmentBytes:    num("segment.bytes"),
		logAppendTime:   get("message.timestamp.type") == "LogAppendTime",
		compact:         strings.Contains(get("cleanup.policy"), "compact"),
		// Clamp so now±bound cannot overflow.
		timestampAfterMs:  min(num("message.timestamp.after.max.ms"), 1<<62),
		timestampBeforeMs: min(num("message.timestamp.before.max.ms"), 1<<62),
	}
}

// brokerConfigs are the broker configs DescribeConfigs shows for a BROKER
// resource. They are static (set at start), as read-only entries.
func (b *Broker) brokerConfigs() []struct{ name, value string } {
	c := &b.cfg
	return []struct{ name, value string }{
		{"broker.id", strconv.Itoa(int(c.NodeID))},
		{"node.id", strconv.Itoa(int(c.NodeID))},
		{"advertised.listeners", "PLAINTEXT://" + c.Advertise},
		{"listeners", "PLAINTEXT://" + c.Listen},
		{"log.dirs", c.DataDir},
		{"auto.create.topics.enable", strconv.FormatBool(c.AutoCreateTopics)},
		{"num.partitions", strconv.Itoa(int(c.NumPartitions))},
		{"default.replication.factor", strconv.Itoa(int(c.DefaultReplicationFactor))},
		{"message.max.bytes", strconv.Itoa(int(c.MessageMaxBytes))},
		{"socket.request.max.bytes", strconv.Itoa(c.MaxRequestSize)},
		{"log.retention.ms", strconv.FormatInt(c.LogRetentionMs, 10)},
		{"log.retention.bytes", strconv.FormatInt(c.LogRetentionBytes, 10)},
		{"log.cleanup.policy", "delete"},
		{"log.segment.bytes", "1073741824"},
		{"delete.topic.enable", "true"},
		{"min.insync.replicas", "1"},
		{"group.initial.rebalance.delay.ms", strconv.FormatInt(c.GroupInitialRebalanceDelay.Milliseconds(), 10)},
		{"group.min.session.timeout.ms", strconv.FormatInt(c.GroupMinSessionTimeout.Milliseconds(), 10)},
		{"group.max.session.timeout.ms", strconv.FormatInt(c.GroupMaxSessionTimeout.Milliseconds(), 10)},
		{"offset.metadata.max.bytes", strconv.Itoa(offsetMetadataMaxBytes)},
		{"offsets.retention.minutes", strconv.FormatInt(int64(c.offsetsRetention()/time.Minute), 10)},
		{"offsets.retention.check.interval.ms", strconv.FormatInt(c.offsetsRetentionCheckInterval().Milliseconds(), 10)},
		{"group.consumer.session.timeout.ms", strconv.FormatInt(c.consumerSessionTimeout().Milliseconds(), 10)},
		{"group.consumer.heartbeat.interval.ms", strconv.FormatInt(c.consumerHeartbeatInterval().Milliseconds(), 10)},
		{"group.consumer.assignors", strings.Join(c.consumerAssignors(), ",")},
	}
}
