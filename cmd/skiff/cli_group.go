package main

// `skiff group list|describe|delete|reset-offsets`: consumer group
// administration over the Kafka group APIs (ListGroups, DescribeGroups,
// OffsetFetch, ListOffsets, OffsetCommit, DeleteGroups) through kadm; and
// `skiff consume TOPIC --group G` (consumeGroup), which reads as a member of
// a group and commits the offsets of what it printed.
//
// describe's partition table has the columns, rows and "-" placeholders of
// Kafka's kafka-consumer-groups.sh --describe (ConsumerGroupCommand), less
// the GROUP column: members with the most partitions first, then the
// committed partitions no member holds. reset-offsets behaves as Kafka's
// --reset-offsets --execute (or, with --dry-run, without --execute): only
// for a group without members, exact offsets bounded to the log.
//
// # Notes
//
//   - Groups of the KIP-848 consumer protocol are listed, but described
//     through the classic DescribeGroups only.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

var groupCommands = []struct {
	name, synopsis, summary string
	run                     func(args []string, stdout, stderr io.Writer) int
}{
	{"list", "", "list consumer groups with their state, members and protocol", runGroupList},
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
func groupCommand(name, synopsis string, args []string, wantPos int, stderr io.Writer, define func(*flag.FlagSet)) (pos []string, run func(func(context.Context, *kadm.Client) int) int, code int, ok bool) {
	fs, brokers := newFlagSet("group "+name, synopsis, stderr)
	if define != nil {
		define(fs)
	}
	pos, code, ok = parseOrExit(fs, args, wantPos, stderr)
	if !ok {
		return nil, nil, code, false
	}
	run = func(fn func(context.Context, *kadm.Client) int) int {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		adm, err := connectAdmin(ctx, *brokers)
		if err != nil {
			return fail(stderr, "group "+name, err, "", "")
		}
		defer adm.Close()
		return fn(ctx, adm)
	}
	return pos, run, 0, true
}

func runGroupList(args []string, stdout, stderr io.Writer) int {
	_, run, code, ok := groupCommand("list", "[flags]", args, 0, stderr, nil)
	if !ok {
		return code
	}
	return run(func(ctx context.Context, adm *kadm.Client) int {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return failGroup(stderr, "group list", err, "", "")
		}
		var described kadm.DescribedGroups
		if names := listed.Groups(); len(names) > 0 {
			described, _ = adm.DescribeGroups(ctx, names...) // rows it misses show "?"
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tSTATE\tMEMBERS\tPROTOCOL")
		for _, l := range listed.Sorted() {
			state, members, protocol := l.State, "?", "?"
			if d, ok := described[l.Group]; ok && d.Err == nil {
				state, members, protocol = d.State, strconv.Itoa(len(d.Members)), orMissing(d.Protocol)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Group, orMissing(state), members, protocol)
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

// describeGroup describes one group; an unknown group is GROUP_ID_NOT_FOUND
// whichever DescribeGroups version said so (v6+ by code, older as Dead).
func describeGroup(ctx context.Context, adm *kadm.Client, name string) (kadm.DescribedGroup, error) {
	ds, err := adm.DescribeGroups(ctx, name)
	if err != nil {
		return kadm.DescribedGroup{}, err
	}
	d, ok := ds[name]
	switch {
	case !ok || d.Err == nil && d.State == "Dead":
		return d, kerr.GroupIDNotFound
	case d.Err != nil:
		return d, d.Err
	}
	return d, nil
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
	return run(func(ctx context.Context, adm *kadm.Client) int {
		d, err := describeGroup(ctx, adm, name)
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

// writeGroupHeader prints the group's state, protocol and members table.
func writeGroupHeader(w io.Writer, d kadm.DescribedGroup) {
	protocol := orMissing(d.Protocol)
	if d.ProtocolType != "" {
		protocol += " (" + d.ProtocolType + ")"
	}
	fmt.Fprintf(w, "Group:     %s\nState:     %s\nProtocol:  %s\nMembers:   %d\n", d.Group, d.State, protocol, len(d.Members))
	if len(d.Members) == 0 {
		return
	}
	static := false
	for _, m := range d.Members {
		static = static || m.InstanceID != nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if static {
		fmt.Fprintln(tw, "\nCONSUMER-ID\tGROUP-INSTANCE-ID\tHOST\tCLIENT-ID\t#PARTITIONS")
	} else {
		fmt.Fprintln(tw, "\nCONSUMER-ID\tHOST\tCLIENT-ID\t#PARTITIONS")
	}
	for _, m := range d.Members {
		n := missing
		if _, ok := m.Assigned.AsConsumer(); ok {
			n = strconv.Itoa(len(assignedPartitions(m)))
		}
		if static {
			instance := missing
			if m.InstanceID != nil {
				instance = *m.InstanceID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.MemberID, instance, m.ClientHost, m.ClientID, n)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.MemberID, m.ClientHost, m.ClientID, n)
		}
	}
	tw.Flush()
}

type topicPartition struct {
	topic     string
	partition int32
}

// assignedPartitions returns a consumer-protocol member's assignment,
// ordered by topic and partition.
func assignedPartitions(m kadm.DescribedGroupMember) []topicPartition {
	a, ok := m.Assigned.AsConsumer()
	if !ok {
		return nil
	}
	var out []topicPartition
	for _, t := range a.Topics {
		for _, p := range t.Partitions {
			out = append(out, topicPartition{t.Topic, p})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

// partitionRows orders the partition table as Kafka's tool does: members
// with the most partitions first (each member's partitions in order), then
// committed partitions that no member holds.
func partitionRows(d kadm.DescribedGroup, committed kadm.OffsetResponses) []partitionRow {
	offsetOf := func(tp topicPartition) int64 {
		if o, ok := committed.Lookup(tp.topic, tp.partition); ok && o.Err == nil && o.At >= 0 {
			return o.At
		}
		return -1
	}
	members := append([]kadm.DescribedGroupMember(nil), d.Members...)
	sort.SliceStable(members, func(i, j int) bool {
		return len(assignedPartitions(members[i])) > len(assignedPartitions(members[j]))
	})
	var rows []partitionRow
	held := map[topicPartition]bool{}
	for _, m := range members {
		for _, tp := range assignedPartitions(m) {
			held[tp] = true
			rows = append(rows, partitionRow{tp.topic, tp.partition, offsetOf(tp), m.MemberID, m.ClientHost, m.ClientID})
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
	return run(func(ctx context.Context, adm *kadm.Client) int {
		if _, err := adm.DeleteGroup(ctx, name); err != nil {
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
	return run(func(ctx context.Context, adm *kadm.Client) int {
		d, err := describeGroup(ctx, adm, name)
		switch {
		case errors.Is(err, kerr.GroupIDNotFound): // a new group gets the offsets, as in Kafka
		case err != nil:
			return failGroup(stderr, cmd, err, name, o.topic)
		case d.State != "Empty":
			fmt.Fprintf(stderr, "skiff %s: group %s is %s with %s: offsets can only be reset while it has none; stop its consumers first (see `skiff group describe %s`)\n",
				cmd, name, d.State, plural(len(d.Members), "member"), name)
			return 1
		}
		offsets, err := o.newOffsets(ctx, adm, stderr)
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

// consumeGroup is `skiff consume TOPIC --group G`: it reads as a member of
// G, from the group's committed offsets (where there are none, from where
// -B or --offset say, else the end), and commits the offsets of the records
// it printed, once they are written out: every 5 s, when partitions move to
// another member, and on exit. With --max, the records fetched past the
// last one printed are not committed, so the next run starts right after it.
//
// With -d it exits once every partition it holds reached the end offset
// listed when the command started.
func consumeGroup(ctx context.Context, brokers string, o consumeOptions, stdout, stderr io.Writer) int {
	ends, err := listGroupEnds(ctx, brokers, o)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		return failGroup(stderr, "consume", err, o.group, o.topic)
	}
	defer ends.adm.Close()
	opts := append(seedOpts(brokers),
		kgo.ClientID("skiff-consume"), kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topic), kgo.ConsumeStartOffset(startOffset(o)),
		kgo.AutoCommitMarks(), kgo.OnPartitionsAssigned(ends.assigned), kgo.OnPartitionsRevoked(ends.revoked))
	if o.toEnd {
		opts = append(opts, kgo.KeepControlRecords())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return failGroup(stderr, "consume", err, o.group, o.topic)
	}
	defer cl.Close() // leaves the group
	code := pollGroup(ctx, cl, o, ends, stdout, stderr)
	cctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		fmt.Fprintf(stderr, "skiff consume: could not commit the offsets of group %s, so the last records printed will be read again: %s\n",
			o.group, explainGroup(err, o.group, o.topic))
		return 1
	}
	return code
}

// pollGroup prints records until ctx is done, --max is reached, or with -d
// every partition held reached its end. It marks what it printed for commit.
func pollGroup(ctx context.Context, cl *kgo.Client, o consumeOptions, ends *groupEnds, stdout, stderr io.Writer) int {
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	printed := 0
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.toEnd {
			// Wake up to notice an assignment that has nothing to read.
			pctx, cancel = context.WithTimeout(ctx, 250*time.Millisecond)
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return 0
		}
		for _, fe := range fetches.Errors() {
			var dataLoss *kgo.ErrDataLoss
			switch {
			case errors.Is(fe.Err, context.DeadlineExceeded), errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, kgo.ErrClientClosed):
			case errors.As(fe.Err, &dataLoss):
				fmt.Fprintf(stderr, "skiff consume: warning: %v\n", fe.Err)
			default:
				return failGroup(stderr, "consume", fmt.Errorf("partition %d: %w", fe.Partition, fe.Err), o.group, o.topic)
			}
		}
		var taken []*kgo.Record
		done := false
		fetches.EachRecord(func(r *kgo.Record) {
			if done || !ends.take(o, r) {
				return
			}
			taken = append(taken, r)
			if !r.Attrs.IsControl() {
				writeRecord(out, o.format, r)
				printed++
				done = o.max > 0 && printed >= o.max
			}
		})
		if err := out.Flush(); err != nil {
			return fail(stderr, "consume", fmt.Errorf("write output: %w", err), o.topic, "")
		}
		cl.MarkCommitRecords(taken...)
		reached, err := ends.reached()
		if err != nil {
			return failGroup(stderr, "consume", fmt.Errorf("fetch the committed offsets of group %s: %w", o.group, err), o.group, o.topic)
		}
		if done || o.toEnd && reached {
			return 0
		}
	}
}

// startOffset is where a partition without a committed offset starts.
func startOffset(o consumeOptions) kgo.Offset {
	switch {
	case o.offsetSet && o.offset < 0:
		return kgo.NewOffset().AtEnd().Relative(o.offset)
	case o.offsetSet:
		return kgo.NewOffset().At(o.offset)
	case o.fromBeginning:
		return kgo.NewOffset().AtStart()
	}
	return kgo.NewOffset().AtEnd()
}

// groupEnds tracks, for -d, the partitions this member holds that have not
// reached the end offsets listed at start. Its callbacks also commit the
// printed records' offsets before partitions move to another member.
type groupEnds struct {
	adm    *kadm.Client
	group  string
	o      consumeOptions
	starts map[int32]int64 // log start offsets listed at start
	ends   map[int32]int64 // end offsets listed at start

	mu       sync.Mutex
	joined   bool            // an assignment has arrived
	left     map[int32]int64 // held partitions not at their end → end
	fetchErr error
}

// listGroupEnds checks that the topic exists and, for -d, lists where its
// partitions start and end.
func listGroupEnds(ctx context.Context, brokers string, o consumeOptions) (*groupEnds, error) {
	adm, err := connectAdmin(ctx, brokers)
	if err != nil {
		return nil, err
	}
	e := &groupEnds{adm: adm, group: o.group, o: o, starts: map[int32]int64{}, ends: map[int32]int64{}, left: map[int32]int64{}}
	for _, l := range []struct {
		fn  func(context.Context, ...string) (kadm.ListedOffsets, error)
		out map[int32]int64
	}{{adm.ListEndOffsets, e.ends}, {adm.ListStartOffsets, e.starts}} {
		listed, err := l.fn(ctx, o.topic)
		if err == nil {
			err = listed.Error()
		}
		if err == nil && len(listed[o.topic]) == 0 {
			err = kerr.UnknownTopicOrPartition
		}
		if err != nil {
			adm.Close()
			return nil, err
		}
		for p, lo := range listed[o.topic] {
			l.out[p] = lo.Offset
		}
	}
	return e, nil
}

// assigned notes newly held partitions. Each starts at the group's
// committed offset (what its previous holder committed before letting go),
// or where the flags say, as listed at start; that start is committed at
// once, as Kafka's consumers commit their positions, so records produced
// while no member runs are read by the next one rather than skipped. For
// -d, a partition whose start is before its end is left to read.
func (e *groupEnds) assigned(ctx context.Context, cl *kgo.Client, added map[string][]int32) {
	ps := added[e.o.topic]
	if len(ps) == 0 {
		e.mu.Lock()
		e.joined = true
		e.mu.Unlock()
		return
	}
	committed, err := e.adm.FetchOffsets(ctx, e.group)
	fresh := map[int32]kgo.EpochOffset{}
	e.mu.Lock()
	e.joined = true
	if err != nil {
		e.fetchErr = err
		e.mu.Unlock()
		return
	}
	for _, p := range ps {
		pos := e.flagStart(p)
		if c, ok := committed.Lookup(e.o.topic, p); ok && c.Err == nil && c.At >= 0 {
			pos = c.At
		} else if _, listed := e.ends[p]; listed {
			fresh[p] = kgo.EpochOffset{Epoch: -1, Offset: pos}
		}
		if end, ok := e.ends[p]; e.o.toEnd && ok && pos < end {
			e.left[p] = end
		}
	}
	e.mu.Unlock()
	if len(fresh) > 0 {
		// Best effort: if it fails, kgo starts at ConsumeStartOffset.
		cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{e.o.topic: fresh}, nil)
	}
}

// revoked commits what was printed from partitions about to move (what
// kgo's default callback does), and forgets them.
func (e *groupEnds) revoked(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	cl.CommitMarkedOffsets(ctx) // best effort: failing here means the new holder re-reads
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range lost[e.o.topic] {
		delete(e.left, p)
	}
}

// flagStart is where -B / --offset (or the default, the end) start
// partition p, within the offsets listed at start.
func (e *groupEnds) flagStart(p int32) int64 {
	start, end := e.starts[p], e.ends[p]
	switch {
	case e.o.offsetSet:
		pos := e.o.offset
		if pos < 0 {
			pos += end
		}
		return min(max(pos, start), end)
	case e.o.fromBeginning:
		return start
	}
	return end
}

// take reports whether r is to be handled; with -d only records below the
// end of a partition still to read are, and reaching it retires it.
func (e *groupEnds) take(o consumeOptions, r *kgo.Record) bool {
	if !o.toEnd {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	end, open := e.left[r.Partition]
	if !open || r.Offset >= end {
		return false
	}
	if r.Offset >= end-1 {
		delete(e.left, r.Partition)
	}
	return true
}

// reached reports whether this member holds an assignment and read every
// held partition to its end; an error if -d could not learn where a newly
// held partition starts.
func (e *groupEnds) reached() (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.joined && len(e.left) == 0, e.fetchErr
}
