package main

// `skiff group list|describe|delete|reset-offsets`: consumer group
// administration over the Kafka group APIs (ListGroups, DescribeGroups,
// ConsumerGroupDescribe, OffsetFetch, ListOffsets, OffsetCommit,
// DeleteGroups) mostly through kadm; and `skiff consume TOPIC --group G`
// (consumeGroup), which reads as a member of a group and commits the offsets
// of what it printed.
//
// Every command serves both types of group, as Kafka 4's
// kafka-consumer-groups.sh does: classic groups and KIP-848 consumer groups
// (cli_group_view.go). list shows each group's type; describe shows a
// consumer group's assignor and epochs, and each member's epoch and current
// (and, while it differs, target) assignment.
//
// describe's partition table has the columns, rows and "-" placeholders of
// Kafka's kafka-consumer-groups.sh --describe (ConsumerGroupCommand), less
// the GROUP column: members with the most partitions first, then the
// committed partitions no member holds. reset-offsets behaves as Kafka's
// --reset-offsets --execute (or, with --dry-run, without --execute), and
// delete as --delete: only for a group without members (a consumer that
// stopped without leaving stays a member until its session times out).
// reset-offsets commits exact offsets bounded to the log.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

var groupCommands = []struct {
	name, synopsis, summary string
	run                     func(args []string, stdout, stderr io.Writer) int
}{
	{"list", "", "list consumer groups with their type, state, members and protocol", runGroupList},
	{"describe", "GROUP", "show a group's members and, per partition, its committed offset and lag", runGroupDescribe},
	{"delete", "GROUP", "delete a group without members, and its committed offsets", runGroupDelete},
	{"reset-offsets", "GROUP --topic T --to-earliest|--to-latest|--to-offset N|--to-datetime T", "move the committed offsets of a group without members", runGroupResetOffsets},
}

func runGroup(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range groupCommands {
			if c.name == args[0] {
				return c.run(args[1:], stdout, stderr)
			}
		}
		if h := args[0]; h == "help" || h == "-h" || h == "--help" {
			groupUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "skiff group: unknown command %q\n\n", args[0])
	}
	groupUsage(stderr)
	return 2
}

func groupUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: skiff group COMMAND [flags]\n\nCommands:")
	for _, c := range groupCommands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `skiff group COMMAND -h` for the flags of a command.")
}

// missing is what Kafka's tool prints for a value it does not have.
const missing = "-"

// failGroup prints `skiff CMD: MESSAGE` for err and returns exit code 1.
func failGroup(stderr io.Writer, cmd string, err error, group, topic string) int {
	fmt.Fprintf(stderr, "skiff %s: %s\n", cmd, explainGroup(err, group, topic))
	return 1
}

// explainGroup is explain with advice for the group error codes.
func explainGroup(err error, group, topic string) string {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return explain(err, topic, "")
	}
	advice := ""
	switch ke {
	case kerr.GroupIDNotFound:
		advice = fmt.Sprintf("group %s does not exist: see `skiff group list`", group)
	case kerr.NonEmptyGroup, kerr.UnknownMemberID, kerr.IllegalGeneration, kerr.RebalanceInProgress:
		advice = fmt.Sprintf("group %s has active members: stop its consumers first (see `skiff group describe %s`)", group, group)
	case kerr.InconsistentGroupProtocol:
		advice = fmt.Sprintf("group %s is used by consumers of another protocol or assignor (`skiff consume --group` joins as a classic member with the cooperative-sticky assignor): use another group, or stop those consumers first (see `skiff group describe %s`)", group, group)
	case kerr.InvalidGroupID:
		advice = fmt.Sprintf("%q is not a valid group name: use a non-empty name", group)
	case kerr.CoordinatorNotAvailable, kerr.NotCoordinator, kerr.CoordinatorLoadInProgress:
		advice = "the group coordinator is starting or moving: retry in a moment"
	case kerr.GroupAuthorizationFailed:
		advice = fmt.Sprintf("not authorized for group %s: ask the cluster's operator for access", group)
	}
	if advice == "" {
		return explain(err, topic, "")
	}
	return advice + " [" + err.Error() + "]"
}

// groupCommand parses the args of a group subcommand (define adds its own
// flags) and returns its wantPos positionals and run, which connects to the
// brokers and calls fn with an admin client and a context bounded by
// adminTimeout. ok=false means exit with code.
func groupCommand(name, synopsis string, args []string, wantPos int, stderr io.Writer, define func(*flag.FlagSet)) (pos []string, run func(func(context.Context, groupAdmin) int) int, code int, ok bool) {
	fs, brokers := newFlagSet("group "+name, synopsis, stderr)
	if define != nil {
		define(fs)
	}
	pos, code, ok = parseOrExit(fs, args, wantPos, stderr)
	if !ok {
		return nil, nil, code, false
	}
	run = func(fn func(context.Context, groupAdmin) int) int {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		cl, err := connect(ctx, *brokers)
		if err != nil {
			return fail(stderr, "group "+name, err, "", "")
		}
		defer cl.Close()
		return fn(ctx, groupAdmin{kadm.NewClient(cl), cl})
	}
	return pos, run, 0, true
}

func runGroupList(args []string, stdout, stderr io.Writer) int {
	_, run, code, ok := groupCommand("list", "[flags]", args, 0, stderr, nil)
	if !ok {
		return code
	}
	return run(func(ctx context.Context, adm groupAdmin) int {
		listed, err := adm.listGroups(ctx)
		if err != nil {
			return failGroup(stderr, "group list", err, "", "")
		}
		// Each type is described by its own request; rows either misses
		// show "?".
		var classic, consumer []string
		for _, l := range listed {
			if l.typ == typeConsumer {
				consumer = append(consumer, l.name)
			} else {
				classic = append(classic, l.name)
			}
		}
		var described kadm.DescribedGroups
		var describedConsumer kadm.DescribedConsumerGroups
		if len(classic) > 0 {
			described, _ = adm.DescribeGroups(ctx, classic...)
		}
		if len(consumer) > 0 {
			describedConsumer, _ = adm.DescribeConsumerGroups(ctx, consumer...)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tTYPE\tSTATE\tMEMBERS\tPROTOCOL")
		for _, l := range listed {
			state, members, protocol := l.state, "?", "?"
			if d, ok := described[l.name]; ok && d.Err == nil && l.typ != typeConsumer {
				state, members, protocol = d.State, strconv.Itoa(len(d.Members)), orMissing(d.Protocol)
			}
			if d, ok := describedConsumer[l.name]; ok && d.Err == nil && l.typ == typeConsumer {
				state, members, protocol = d.State, strconv.Itoa(len(d.Members)), orMissing(d.AssignorName)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.name, l.typ, orMissing(state), members, protocol)
		}
		if err := tw.Flush(); err != nil {
			return fail(stderr, "group list", err, "", "")
		}
		if len(listed) == 0 {
			fmt.Fprintln(stderr, "no consumer groups yet: consume with `skiff consume TOPIC --group NAME`")
		}
		return 0
	})
}

func orMissing(s string) string {
	if s == "" {
		return missing
	}
	return s
}

// partitionRow is one row of describe's partition table.
type partitionRow struct {
	topic              string
	partition          int32
	committed          int64 // -1: none
	member, host, user string
}

func runGroupDescribe(args []string, stdout, stderr io.Writer) int {
	pos, run, code, ok := groupCommand("describe", "GROUP [flags]", args, 1, stderr, nil)
	if !ok {
		return code
	}
	name := pos[0]
	return run(func(ctx context.Context, adm groupAdmin) int {
		d, err := adm.describeGroup(ctx, name)
		if err != nil {
			return failGroup(stderr, "group describe", err, name, "")
		}
		committed, err := adm.FetchOffsets(ctx, name)
		if err != nil {
			return failGroup(stderr, "group describe", err, name, "")
		}
		rows := partitionRows(d, committed)
		topics := map[string]bool{}
		for _, r := range rows {
			topics[r.topic] = true
		}
		var ends kadm.ListedOffsets
		var endsErr error
		if len(topics) > 0 {
			ends, endsErr = adm.ListEndOffsets(ctx, sortedKeys(topics)...)
		}
		writeGroupHeader(stdout, d)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if len(rows) == 0 {
			fmt.Fprintln(tw, "\nNo committed offsets.")
		} else {
			fmt.Fprintln(tw, "\nTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tCONSUMER-ID\tHOST\tCLIENT-ID")
		}
		for _, r := range rows {
			cur, end, lag := missing, missing, missing
			if r.committed >= 0 {
				cur = strconv.FormatInt(r.committed, 10)
			}
			if e, ok := ends.Lookup(r.topic, r.partition); endsErr == nil && ok && e.Err == nil {
				end = strconv.FormatInt(e.Offset, 10)
				if r.committed >= 0 {
					lag = strconv.FormatInt(e.Offset-r.committed, 10)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.topic, r.partition, cur, end, lag, r.member, r.host, r.user)
		}
		if err := tw.Flush(); err != nil {
			return fail(stderr, "group describe", err, "", "")
		}
		return 0
	})
}

type topicPartition struct {
	topic     string
	partition int32
}

// partitionRows orders the partition table as Kafka's tool does: members
// with the most partitions first (each member's partitions in order), then
// committed partitions that no member holds.
func partitionRows(d groupView, committed kadm.OffsetResponses) []partitionRow {
	offsetOf := func(tp topicPartition) int64 {
		if o, ok := committed.Lookup(tp.topic, tp.partition); ok && o.Err == nil && o.At >= 0 {
			return o.At
		}
		return -1
	}
	members := append([]memberView(nil), d.members...)
	sort.SliceStable(members, func(i, j int) bool { return len(members[i].assigned) > len(members[j].assigned) })
	var rows []partitionRow
	held := map[topicPartition]bool{}
	for _, m := range members {
		for _, tp := range m.assigned {
			held[tp] = true
			rows = append(rows, partitionRow{tp.topic, tp.partition, offsetOf(tp), m.id, m.host, m.clientID})
		}
	}
	for _, o := range committed.Sorted() {
		tp := topicPartition{o.Topic, o.Partition}
		if held[tp] || o.Err != nil || o.At < 0 {
			continue
		}
		rows = append(rows, partitionRow{tp.topic, tp.partition, o.At, missing, missing, missing})
	}
	return rows
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func runGroupDelete(args []string, stdout, stderr io.Writer) int {
	pos, run, code, ok := groupCommand("delete", "GROUP [flags]", args, 1, stderr, nil)
	if !ok {
		return code
	}
	name := pos[0]
	return run(func(ctx context.Context, adm groupAdmin) int {
		_, err := adm.DeleteGroup(ctx, name)
		if errors.Is(err, kerr.NonEmptyGroup) {
			if d, derr := adm.describeGroup(ctx, name); derr == nil && d.state != "Empty" {
				fmt.Fprintf(stderr, "skiff group delete: %s [%s]\n", notEmpty(d, "it can only be deleted"), err)
				return 1
			}
		}
		if err != nil {
			return failGroup(stderr, "group delete", err, name, "")
		}
		fmt.Fprintf(stdout, "deleted group %s\n", name)
		return 0
	})
}

// resetOptions are the flags of reset-offsets.
type resetOptions struct {
	topic     string
	partition int
	earliest  bool
	latest    bool
	offset    int64
	datetime  string
	dryRun    bool

	mode string // the --to-* flag given
	at   time.Time
}

func runGroupResetOffsets(args []string, stdout, stderr io.Writer) int {
	var o resetOptions
	var fs *flag.FlagSet
	define := func(f *flag.FlagSet) {
		fs = f
		f.StringVar(&o.topic, "topic", "", "topic whose committed offsets to move (required)")
		f.IntVar(&o.partition, "partition", -1, "move only partition `N` (-1: every partition of the topic)")
		f.BoolVar(&o.earliest, "to-earliest", false, "to the start of each partition")
		f.BoolVar(&o.latest, "to-latest", false, "to the end of each partition: skip every record not yet read")
		f.Int64Var(&o.offset, "to-offset", 0, "to offset `N`, kept within each partition's start and end")
		f.StringVar(&o.datetime, "to-datetime", "", "to the first record at or after `TIME` (RFC 3339, e.g. 2024-05-01T12:00:00Z)")
		f.BoolVar(&o.dryRun, "dry-run", false, "show the new offsets without committing them")
	}
	pos, run, code, ok := groupCommand("reset-offsets", "GROUP --topic T [--partition N] --to-earliest|--to-latest|--to-offset N|--to-datetime TIME [--dry-run]", args, 1, stderr, define)
	if !ok {
		return code
	}
	if msg := o.check(fs); msg != "" {
		return usageError(fs, stderr, "%s", msg)
	}
	name := pos[0]
	const cmd = "group reset-offsets"
	return run(func(ctx context.Context, adm groupAdmin) int {
		d, err := adm.describeGroup(ctx, name)
		switch {
		case errors.Is(err, kerr.GroupIDNotFound): // a new group gets the offsets, as in Kafka
		case err != nil:
			return failGroup(stderr, cmd, err, name, o.topic)
		case d.state != "Empty":
			fmt.Fprintf(stderr, "skiff %s: %s\n", cmd, notEmpty(d, "offsets can only be reset"))
			return 1
		}
		offsets, err := o.newOffsets(ctx, adm.Client, stderr)
		if err != nil {
			return failGroup(stderr, cmd, err, name, o.topic)
		}
		if !o.dryRun {
			resp, err := adm.CommitOffsets(ctx, name, offsets)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				return failGroup(stderr, cmd, err, name, o.topic)
			}
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tNEW-OFFSET")
		for _, off := range offsets.Sorted() {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", off.Topic, off.Partition, off.At)
		}
		tw.Flush()
		if o.dryRun {
			fmt.Fprintf(stdout, "dry run: group %s is unchanged; run again without --dry-run to commit these offsets\n", name)
		} else {
			fmt.Fprintf(stdout, "reset the offsets of group %s on %s\n", name, plural(len(offsets[o.topic]), "partition"))
		}
		return 0
	})
}

// notEmpty says why a group with members cannot have done to it what it
// wants ("it can only be deleted"), and what to do.
func notEmpty(d groupView, what string) string {
	return fmt.Sprintf("group %s is %s with %s: %s while it has none; stop its consumers first, or wait for the session of one that stopped without leaving to time out (see `skiff group describe %s`)",
		d.name, d.state, plural(len(d.members), "member"), what, d.name)
}

// check validates the flags and returns what is wrong, or "".
func (o *resetOptions) check(fs *flag.FlagSet) string {
	var modes []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "to-earliest", "to-latest":
			if f.Value.String() == "true" {
				modes = append(modes, "--"+f.Name)
			}
		case "to-offset", "to-datetime":
			modes = append(modes, "--"+f.Name)
		}
	})
	switch {
	case o.topic == "":
		return "--topic is required: name the topic whose offsets to move"
	case o.partition < -1:
		return fmt.Sprintf("--partition %d: partitions count from 0", o.partition)
	case len(modes) != 1:
		return "pass one of --to-earliest, --to-latest, --to-offset N, --to-datetime TIME"
	}
	o.mode = modes[0]
	if o.mode == "--to-datetime" {
		t, err := time.Parse(time.RFC3339, o.datetime)
		if err != nil {
			return fmt.Sprintf("--to-datetime %q: want RFC 3339, e.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00", o.datetime)
		}
		o.at = t
	}
	return ""
}

// newOffsets lists the topic's offsets and works out where each chosen
// partition goes.
func (o *resetOptions) newOffsets(ctx context.Context, adm *kadm.Client, stderr io.Writer) (kadm.Offsets, error) {
	list := func(fn func(context.Context, ...string) (kadm.ListedOffsets, error)) (map[int32]kadm.ListedOffset, error) {
		l, err := fn(ctx, o.topic)
		if err == nil {
			err = l.Error()
		}
		if err != nil {
			return nil, err
		}
		if len(l[o.topic]) == 0 {
			return nil, kerr.UnknownTopicOrPartition
		}
		return l[o.topic], nil
	}
	starts, err := list(adm.ListStartOffsets)
	if err != nil {
		return nil, err
	}
	ends, err := list(adm.ListEndOffsets)
	if err != nil {
		return nil, err
	}
	if _, ok := ends[int32(o.partition)]; o.partition >= 0 && !ok {
		return nil, fmt.Errorf("topic %s has no partition %d: pick one of 0 to %d with --partition", o.topic, o.partition, len(ends)-1)
	}
	var byTime map[int32]kadm.ListedOffset
	if o.mode == "--to-datetime" {
		if byTime, err = list(func(ctx context.Context, t ...string) (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, o.at.UnixMilli(), t...)
		}); err != nil {
			return nil, err
		}
	}
	out := kadm.Offsets{}
	for p, end := range ends {
		if o.partition >= 0 && p != int32(o.partition) {
			continue
		}
		start := starts[p].Offset
		var at int64
		switch o.mode {
		case "--to-earliest":
			at = start
		case "--to-latest":
			at = end.Offset
		case "--to-datetime":
			at = byTime[p].Offset // the end where no record is that late
		case "--to-offset":
			at = o.offset
			if at > end.Offset || at < start {
				at = min(max(at, start), end.Offset)
				fmt.Fprintf(stderr, "skiff group reset-offsets: warning: offset %d is outside %s-%d (%d to %d): using %d\n",
					o.offset, o.topic, p, start, end.Offset, at)
			}
		}
		out.Add(kadm.Offset{Topic: o.topic, Partition: p, At: at, LeaderEpoch: -1})
	}
	return out, nil
}
