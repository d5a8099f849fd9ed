package main

// `skiff topic create|list|describe|delete`: topic administration over the
// Kafka admin APIs (CreateTopics, Metadata, ListOffsets, DescribeConfigs,
// DeleteTopics) through kadm.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicCommands = []struct {
	name, synopsis, summary string
	run                     func(args []string, stdout, stderr io.Writer) int
}{
	{"create", "NAME [--partitions N] [--replication-factor N] [--config k=v]...", "create a topic", runTopicCreate},
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

func runTopicCreate(args []string, stdout, stderr io.Writer) int {
	fs, brokers := newFlagSet("topic create", "NAME [flags]", stderr)
	partitions := fs.Int("partitions", -1, "number of partitions (-1: the broker's default)")
	replication := fs.Int("replication-factor", -1, "copies of each partition (-1: the broker's default)")
	configs := configFlags{}
	fs.Var(configs, "config", "topic config `key=value`, e.g. retention.ms=86400000 (repeatable)")
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
		return fail(stderr, "topic create", err, name, resp.ErrMessage)
	}
	if resp.NumPartitions > 0 && resp.ReplicationFactor > 0 {
		fmt.Fprintf(stdout, "created topic %s (%s, replication factor %d)\n", name, plural(int(resp.NumPartitions), "partition"), resp.ReplicationFactor)
	} else {
		fmt.Fprintf(stdout, "created topic %s\n", name)
	}
	return 0
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
