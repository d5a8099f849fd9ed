package main

// `skiff topic create|alter|list|describe|delete`: topic administration
// over the Kafka admin APIs (CreateTopics, IncrementalAlterConfigs,
// Metadata, ListOffsets, DescribeConfigs, DeleteTopics) through kadm.
//
// SmartModules attach to topics through topic configs, so that any Kafka
// admin tool can set them too: a produce-time chain is the transforms.yml
// text in skiff.ingest.transforms, a read-time view is a topic created with
// skiff.view.of and skiff.view.transforms. The flags here read the files
// and set those configs.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/skiffstream/skiff/transforms/chain"
)

var topicCommands = []struct {
	name, synopsis, summary string
	run                     func(args []string, stdout, stderr io.Writer) int
}{
	{"create", "NAME [--partitions N] [--replication-factor N] [--config k=v]...", "create a topic, or a read-time view of one (--view-of)", runTopicCreate},
	{"alter", "NAME [--config k=v]... [--delete-config k]...", "change a topic's configs and SmartModules", runTopicAlter},
	{"list", "", "list topics with their partition and replica counts", runTopicList},
	{"describe", "NAME", "show a topic's partitions, offsets and non-default configs", runTopicDescribe},
	{"delete", "NAME", "delete a topic and its records", runTopicDelete},
}

func runTopic(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range topicCommands {
			if c.name == args[0] {
				return c.run(args[1:], stdout, stderr)
			}
		}
		if h := args[0]; h == "help" || h == "-h" || h == "--help" {
			topicUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "skiff topic: unknown command %q\n\n", args[0])
	}
	topicUsage(stderr)
	return 2
}

func topicUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: skiff topic COMMAND [flags]\n\nCommands:")
	for _, c := range topicCommands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `skiff topic COMMAND -h` for the flags of a command.")
}

// configFlags collects repeated --config k=v flags.
type configFlags map[string]*string

func (c configFlags) String() string {
	keys := make([]string, 0, len(c))
	for k, v := range c {
		keys = append(keys, k+"="+*v)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (c configFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	c[k] = &v
	return nil
}

// Topic configs of SmartModules (broker/smartmodules.go).
const (
	cfgIngestTransforms = "skiff.ingest.transforms"
	cfgIngestPolicy     = "skiff.ingest.error.policy"
	cfgViewOf           = "skiff.view.of"
	cfgViewTransforms   = "skiff.view.transforms"
)

// smartModuleFlags are the flags of topic create and alter that set the
// SmartModule configs from files.
type smartModuleFlags struct {
	ingestFile, ingestPolicy, viewFile string
}

func (f *smartModuleFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.ingestFile, "ingest-transforms-file", "", "run the chain of this transforms.yml `FILE` over every produced batch before it is stored (config "+cfgIngestTransforms+")")
	fs.StringVar(&f.ingestPolicy, "ingest-error-policy", "", "when a produce-time module fails on a record: fail (the producer gets the error; nothing of the batch is stored), skip, or dead-letter:TOPIC (config "+cfgIngestPolicy+")")
	fs.StringVar(&f.viewFile, "transforms-file", "", "the chain of this transforms.yml `FILE` runs on every read of the view (config "+cfgViewTransforms+")")
}

// set reads the files and puts their configs into configs. It checks what
// can be checked here, so a typo is reported with the file's name.
func (f *smartModuleFlags) set(configs configFlags) error {
	for _, c := range []struct{ file, key string }{{f.ingestFile, cfgIngestTransforms}, {f.viewFile, cfgViewTransforms}} {
		if c.file == "" {
			continue
		}
		yml, err := os.ReadFile(c.file)
		if err != nil {
			return err
		}
		if _, err := chain.ParseSpec(yml); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		v := string(yml)
		configs[c.key] = &v
	}
	if f.ingestPolicy != "" {
		if _, err := chain.ParsePolicy(f.ingestPolicy); err != nil {
			return fmt.Errorf("--ingest-error-policy: %w", err)
		}
		p := f.ingestPolicy
		configs[cfgIngestPolicy] = &p
	}
	return nil
}

// hasSmartModuleConfig reports whether configs set a SmartModule config.
func hasSmartModuleConfig(names []string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, "skiff.") {
			return true
		}
	}
	return false
}

// failConfig is fail for a rejected config change: when it touched the
// SmartModule configs, the broker's message (a module that does not exist,
// a step a view cannot run...) is the advice.
func failConfig(stderr io.Writer, cmd string, err error, topic, brokerMsg string, smartModules bool) int {
	if errors.Is(err, kerr.InvalidConfig) && smartModules && brokerMsg != "" {
		fmt.Fprintf(stderr, "skiff %s: %s [%s]\n", cmd, brokerMsg, kerr.InvalidConfig.Message)
		return 1
	}
	return fail(stderr, cmd, err, topic, brokerMsg)
}

func runTopicCreate(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic create", "NAME [flags]", stderr)
	partitions := fs.Int("partitions", -1, "number of partitions (-1: the broker's default)")
	replication := fs.Int("replication-factor", -1, "copies of each partition (-1: the broker's default)")
	configs := configFlags{}
	fs.Var(configs, "config", "topic config `key=value`, e.g. retention.ms=86400000 (repeatable)")
	var sm smartModuleFlags
	sm.define(fs)
	viewOf := fs.String("view-of", "", "create a read-time view of `TOPIC`: it stores nothing, has TOPIC's partitions and offsets, and runs --transforms-file on every read")
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	if *partitions < -1 || *partitions > math.MaxInt32 {
		return usageError(fs, stderr, "--partitions %d is out of range", *partitions)
	}
	if *replication < -1 || *replication > math.MaxInt16 {
		return usageError(fs, stderr, "--replication-factor %d is out of range", *replication)
	}
	switch {
	case *viewOf == "" && sm.viewFile != "":
		return usageError(fs, stderr, "--transforms-file is the chain of a view: pass --view-of TOPIC too (a produce-time chain is --ingest-transforms-file)")
	case *viewOf != "" && sm.viewFile == "":
		return usageError(fs, stderr, "a view needs --transforms-file F, the chain it runs on every read")
	case *viewOf != "" && (sm.ingestFile != "" || sm.ingestPolicy != ""):
		return usageError(fs, stderr, "a view stores nothing, so it has no produce-time chain: drop --ingest-transforms-file and --ingest-error-policy")
	case *viewOf != "" && *partitions != -1:
		return usageError(fs, stderr, "a view has the partitions of its source %s: drop --partitions", *viewOf)
	}
	if err := sm.set(configs); err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	if *viewOf != "" {
		configs[cfgViewOf] = viewOf
	}
	name := pos[0]

	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, *brokers)
	if err != nil {
		return fail(stderr, "topic create", err, name, "")
	}
	defer adm.Close()
	resp, err := adm.CreateTopic(ctx, int32(*partitions), int16(*replication), configs, name)
	if err != nil {
		return failConfig(stderr, "topic create", err, name, resp.ErrMessage, hasSmartModuleConfig(configs.names()))
	}
	if *viewOf != "" {
		fmt.Fprintf(stdout, "created view %s of %s (%s; SmartModules: %s)\n", name, *viewOf, plural(int(resp.NumPartitions), "partition"), strings.Join(specModules(*configs[cfgViewTransforms]), " | "))
		return 0
	}
	if resp.NumPartitions > 0 && resp.ReplicationFactor > 0 {
		fmt.Fprintf(stdout, "created topic %s (%s, replication factor %d)\n", name, plural(int(resp.NumPartitions), "partition"), resp.ReplicationFactor)
	} else {
		fmt.Fprintf(stdout, "created topic %s\n", name)
	}
	return 0
}

func runTopicAlter(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic alter", "NAME [flags]", stderr)
	configs := configFlags{}
	fs.Var(configs, "config", "set topic config `key=value` (repeatable)")
	var deletes repeatedFlag
	fs.Var(&deletes, "delete-config", "return config `key` to its default (repeatable); "+cfgIngestTransforms+" removes the produce-time chain")
	var sm smartModuleFlags
	sm.define(fs)
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	if err := sm.set(configs); err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	if len(configs) == 0 && len(deletes) == 0 {
		return usageError(fs, stderr, "nothing to change: pass --config k=v, --delete-config k, --ingest-transforms-file F, --ingest-error-policy P or --transforms-file F")
	}
	name := pos[0]
	var alters []kadm.AlterConfig
	for _, k := range configs.names() {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: configs[k]})
	}
	for _, k := range deletes {
		if _, set := configs[k]; set {
			return usageError(fs, stderr, "config %s is both set and deleted", k)
		}
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}

	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, *brokers)
	if err != nil {
		return fail(stderr, "topic alter", err, name, "")
	}
	defer adm.Close()
	resps, err := adm.AlterTopicConfigs(ctx, alters, name)
	if err != nil {
		return fail(stderr, "topic alter", err, name, "")
	}
	resp, err := resps.On(name, nil)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return failConfig(stderr, "topic alter", err, name, resp.ErrMessage, hasSmartModuleConfig(append(configs.names(), deletes...)))
	}
	var done []string
	if len(configs) > 0 {
		done = append(done, "set "+strings.Join(configs.names(), ", "))
	}
	if len(deletes) > 0 {
		done = append(done, "reset "+strings.Join(deletes, ", "))
	}
	fmt.Fprintf(stdout, "altered topic %s: %s\n", name, strings.Join(done, "; "))
	return 0
}

// names returns the config names, sorted.
func (c configFlags) names() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runTopicList(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic list", "[flags]", stderr)
	if _, code, ok := parseOrExit(fs, args, 0, stderr); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, *brokers)
	if err != nil {
		return fail(stderr, "topic list", err, "", "")
	}
	defer adm.Close()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return fail(stderr, "topic list", err, "", "")
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARTITIONS\tREPLICATION")
	for _, t := range topics.Sorted() {
		if t.Err != nil {
			fmt.Fprintf(tw, "%s\t?\t?  (%s)\n", t.Topic, explain(t.Err, t.Topic, ""))
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Topic, len(t.Partitions), t.Partitions.NumReplicas())
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, "topic list", err, "", "")
	}
	if len(topics) == 0 {
		fmt.Fprintln(stderr, "no topics yet: create one with `skiff topic create NAME`")
	}
	return 0
}

func runTopicDescribe(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic describe", "NAME [flags]", stderr)
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	name := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, *brokers)
	if err != nil {
		return fail(stderr, "topic describe", err, name, "")
	}
	defer adm.Close()
	topics, err := adm.ListTopics(ctx, name)
	if err != nil {
		return fail(stderr, "topic describe", err, name, "")
	}
	t := topics[name]
	if t.Err != nil {
		return fail(stderr, "topic describe", t.Err, name, "")
	}
	// Offsets and configs are extras: a broker that cannot serve them still
	// gets its partitions described.
	starts, startsErr := adm.ListStartOffsets(ctx, name)
	ends, endsErr := adm.ListEndOffsets(ctx, name)
	configs, configsErr := adm.DescribeTopicConfigs(ctx, name)

	fmt.Fprintf(stdout, "Topic:        %s\n", name)
	if t.ID != (kadm.TopicID{}) {
		fmt.Fprintf(stdout, "ID:           %s\n", t.ID)
	}
	fmt.Fprintf(stdout, "Partitions:   %d\nReplication:  %d\n\n", len(t.Partitions), t.Partitions.NumReplicas())

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tREPLICAS\tISR\tSTART\tEND")
	for _, p := range t.Partitions.Sorted() {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", p.Partition, p.Leader, joinInt32s(p.Replicas), joinInt32s(p.ISR),
			listedOffset(starts, startsErr, name, p.Partition), listedOffset(ends, endsErr, name, p.Partition))
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, "topic describe", err, name, "")
	}
	writeTopicConfigs(stdout, configs, configsErr, name)
	return 0
}

// writeTopicConfigs prints the configs set on the topic itself, as opposed
// to those it inherits from broker or built-in defaults.
func writeTopicConfigs(w io.Writer, configs kadm.ResourceConfigs, err error, name string) {
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = configs.On(name, nil); err == nil {
			err = rc.Err
		}
		if err == nil {
			var set []kadm.Config
			for _, c := range rc.Configs {
				if c.Source == kmsg.ConfigSourceDynamicTopicConfig {
					set = append(set, c)
				}
			}
			if len(set) == 0 {
				fmt.Fprintln(w, "\nConfigs: all defaults")
				return
			}
			sort.Slice(set, func(i, j int) bool { return set[i].Key < set[j].Key })
			fmt.Fprintln(w, "\nConfigs (non-default):")
			for _, c := range set {
				v := c.MaybeValue()
				if c.Sensitive {
					v = "(sensitive)"
				}
				if strings.Contains(v, "\n") {
					// A transforms.yml: shown as the file it came from.
					fmt.Fprintf(w, "  %s:\n", c.Key)
					for _, line := range strings.Split(strings.TrimRight(v, "\n"), "\n") {
						fmt.Fprintf(w, "    %s\n", line)
					}
					continue
				}
				fmt.Fprintf(w, "  %s=%s\n", c.Key, v)
			}
			return
		}
	}
	fmt.Fprintf(w, "\nConfigs: unavailable (%s)\n", explain(err, name, ""))
}

func runTopicDelete(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic delete", "NAME [flags]", stderr)
	pos, code, ok := parseOrExit(fs, args, 1, stderr)
	if !ok {
		return code
	}
	name := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	adm, err := connectAdmin(ctx, *brokers)
	if err != nil {
		return fail(stderr, "topic delete", err, name, "")
	}
	defer adm.Close()
	resp, err := adm.DeleteTopic(ctx, name)
	if err != nil {
		return fail(stderr, "topic delete", err, name, resp.ErrMessage)
	}
	fmt.Fprintf(stdout, "deleted topic %s\n", name)
	return 0
}

// connectAdmin is connect wrapped in an admin client; closing it closes the
// underlying client.
func connectAdmin(ctx context.Context, brokers string) (*kadm.Client, error) {
	cl, err := connect(ctx, brokers)
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// plural returns "1 partition", "3 partitions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func joinInt32s(ns []int32) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(int(n))
	}
	return strings.Join(s, ",")
}

// listedOffset formats one partition's offset from a ListOffsets result,
// or "?" when the broker could not say.
func listedOffset(l kadm.ListedOffsets, err error, topic string, p int32) string {
	if err != nil {
		return "?"
	}
	o, ok := l.Lookup(topic, p)
	if !ok || o.Err != nil {
		return "?"
	}
	return strconv.FormatInt(o.Offset, 10)
}

var _ flag.Value = configFlags{}
