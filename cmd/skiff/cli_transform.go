package main

// `skiff transform deploy|list|describe|pause|resume|delete|logs`:
// topic-to-topic SmartModule deployments (broker/transform_deploy.go)
// through the admin API. A deployment reads every record of its input
// topic, runs its chain and writes what comes out to its output topics, on
// the broker, committing its progress as it goes.

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skiffstream/skiff/broker"
	"github.com/skiffstream/skiff/transforms/chain"
)

// The admin API's JSON bodies are the broker's own types: the CLI and the
// server are one binary.
type (
	transformStatus = broker.TransformStatus
	deployRequest   = broker.DeployRequest
	moduleLogLine   = broker.LogLine
)

var transformCommands = []subcommand{
	{"deploy", "NAME --input T --output T2[,T3...] (--module M | --transforms-file F)", "run a SmartModule chain from one topic to others", runTransformDeploy},
	{"list", "", "list deployments with their state and lag", runTransformList},
	{"describe", "NAME", "show a deployment's settings, partitions and per-step figures", runTransformDescribe},
	{"pause", "NAME", "stop a deployment, keeping its progress", runTransformPause},
	{"resume", "NAME", "restart a paused or failed deployment from its progress", runTransformResume},
	{"delete", "NAME", "remove a deployment and its progress (its outputs stay)", runTransformDelete},
	{"logs", "NAME", "show what the deployment's modules last wrote to stdout and stderr", runTransformLogs},
}

func runTransform(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runGroupOf("transform", transformCommands, args, stdin, stdout, stderr)
}

func transformPath(name string) string { return "transforms/" + url.PathEscape(name) }

// transformNotFound adds what to do to the admin API's 404 for a
// deployment.
func transformNotFound(err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%v: `skiff transform list` shows the deployments", err)
	}
	return err
}

func runTransformDeploy(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("transform deploy", "NAME --input T --output T2[,T3...] (--module M | --transforms-file F) [flags]", stderr)
	input := fs.String("input", "", "the input `TOPIC`")
	output := fs.String("output", "", "the output `TOPICS`, comma-separated; a module writes to the first unless it names another")
	module := fs.String("module", "", "run one module, stored (skiff smartmodule create) or built-in, by `NAME`")
	file := fs.String("transforms-file", "", "run the chain of a transforms.yml `FILE`")
	vars := keyValueFlags{}
	fs.Var(vars, "var", "an environment variable of every module, `KEY=VALUE` (repeatable), as with rpk transform deploy")
	from := fs.String("from-offset", "earliest", "where partitions without progress start: earliest, latest or @TIMESTAMP (unix millis or RFC 3339)")
	policy := fs.String("error-policy", "fail", "a record a module fails on: fail (stop the partition), skip (drop it) or dead-letter:TOPIC (write it there)")
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	req := deployRequest{Name: pos[0], Input: *input, Module: *module, Policy: *policy}
	for _, o := range strings.Split(*output, ",") {
		if o = strings.TrimSpace(o); o != "" {
			req.Outputs = append(req.Outputs, o)
		}
	}
	switch {
	case req.Input == "":
		return usageError(fs, stderr, "--input is required: the topic to read")
	case len(req.Outputs) == 0:
		return usageError(fs, stderr, "--output is required: the topic(s) to write, comma-separated")
	case (*module == "") == (*file == ""):
		return usageError(fs, stderr, "give the module to run: --module NAME or --transforms-file F (one of the two)")
	}
	if _, err := chain.ParsePolicy(req.Policy); err != nil {
		return usageError(fs, stderr, "--error-policy: %v", err)
	}
	var err error
	if req.From, err = parseFromOffset(*from); err != nil {
		return usageError(fs, stderr, "--from-offset: %v", err)
	}
	if len(vars) > 0 {
		req.Env = vars
	}
	if *file != "" {
		yml, err := os.ReadFile(*file)
		if err != nil {
			return failAdmin(stderr, "transform deploy", err)
		}
		if _, err := chain.ParseSpec(yml); err != nil {
			return failAdmin(stderr, "transform deploy", fmt.Errorf("%s: %w", *file, err))
		}
		req.Spec = string(yml)
	}
	body, err := jsonBody(req)
	if err != nil {
		return failAdmin(stderr, "transform deploy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminSlowTimeout)
	defer cancel()
	var st transformStatus
	if err := cl.do(ctx, "POST", "transforms", body, "application/json", &st); err != nil {
		return failAdmin(stderr, "transform deploy", err)
	}
	fmt.Fprintf(stdout, "deployed transform %s: %s -> %s (%s), from %s, error policy %s\n",
		st.Name, st.Input, strings.Join(st.Outputs, ","), strings.Join(specModules(st.Spec), " | "), st.FromOffset, st.Policy)
	return 0
}

// parseFromOffset turns --from-offset into the admin API's form: earliest,
// latest or @<unix millis>.
func parseFromOffset(s string) (string, error) {
	switch {
	case s == "earliest" || s == "latest":
		return s, nil
	case strings.HasPrefix(s, "@"):
		ts := s[1:]
		if ms, err := strconv.ParseInt(ts, 10, 64); err == nil && ms >= 0 {
			return "@" + ts, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return "@" + strconv.FormatInt(t.UnixMilli(), 10), nil
		}
		return "", fmt.Errorf("%q: after @ give unix milliseconds (1700000000000) or an RFC 3339 time (2026-01-02T15:04:05Z)", s)
	}
	return "", fmt.Errorf("%q: want earliest, latest or @TIMESTAMP", s)
}

// specModules lists the `uses:` of a transforms.yml's steps.
func specModules(spec string) []string {
	s, err := chain.ParseSpec([]byte(spec))
	if err != nil {
		return []string{"?"}
	}
	var uses []string
	for _, st := range s.Steps {
		uses = append(uses, st.Uses)
	}
	return uses
}

func runTransformList(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("transform list", "[flags]", stderr)
	_, cl, code, ok := adminCommand(fs, admin, args, 0, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var ts []transformStatus
	if err := cl.do(ctx, "GET", "transforms", nil, "", &ts); err != nil {
		return failAdmin(stderr, "transform list", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tINPUT\tOUTPUTS\tSTATE\tLAG")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Input, strings.Join(t.Outputs, ","), t.State, totalLag(t))
	}
	if err := tw.Flush(); err != nil {
		return failAdmin(stderr, "transform list", err)
	}
	if len(ts) == 0 {
		fmt.Fprintln(stderr, "no transforms deployed yet: deploy one with `skiff transform deploy NAME --input T --output T2 --module M`")
	}
	return 0
}

// totalLag is the input records a deployment has not processed, over its
// partitions; "-" when no partition reports (paused, starting).
func totalLag(t transformStatus) string {
	if len(t.Partitions) == 0 {
		return "-"
	}
	var lag int64
	for _, p := range t.Partitions {
		lag += p.Lag
	}
	return strconv.FormatInt(lag, 10)
}

func runTransformDescribe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("transform describe", "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var t transformStatus
	if err := cl.do(ctx, "GET", transformPath(pos[0]), nil, "", &t); err != nil {
		return failAdmin(stderr, "transform describe", transformNotFound(err))
	}
	writeTransform(stdout, t)
	return 0
}

// writeTransform prints a deployment: its settings, a row per input
// partition and a row per step of its chain.
func writeTransform(w io.Writer, t transformStatus) {
	fmt.Fprintf(w, "Name:          %s\nInput:         %s\nOutputs:       %s\nModules:       %s\n",
		t.Name, t.Input, strings.Join(t.Outputs, ", "), strings.Join(specModules(t.Spec), " | "))
	if s, err := chain.ParseSpec([]byte(t.Spec)); err == nil && (len(s.Steps) > 1 || len(s.Steps[0].With) > 0) {
		fmt.Fprintln(w, "Transforms:")
		for _, line := range strings.Split(strings.TrimRight(t.Spec, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if len(t.Env) > 0 {
		fmt.Fprintf(w, "Vars:          %s\n", keyValueFlags(t.Env).sorted())
	}
	fmt.Fprintf(w, "From offset:   %s\nError policy:  %s\nState:         %s\n", t.FromOffset, t.Policy, t.State)
	if t.Error != "" {
		fmt.Fprintf(w, "Error:         %s\n", t.Error)
	}
	fmt.Fprintf(w, "Created:       %s\n", formatTime(t.CreatedAt))

	if len(t.Partitions) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PARTITION\tSTATE\tPROGRESS\tEND\tLAG\tIN\tOUT\tERROR")
		for _, p := range t.Partitions {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", p.Partition, p.State, p.Progress, p.End, p.Lag, p.RecordsIn, p.RecordsOut, orDash(p.Error))
		}
		tw.Flush()
	}
	if len(t.Steps) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tMODULE\tKIND\tIN\tOUT\tDROPPED\tERRORS\tSKIPPED\tDEAD-LETTERED\tBYTES-IN\tBYTES-OUT\tTIME")
		for _, s := range t.Steps {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Step+1, s.Uses, s.Kind, s.RecordsIn, s.RecordsOut,
				s.Dropped, s.Errors, s.Skipped, s.DeadLettered, humanBytes(s.BytesIn), humanBytes(s.BytesOut), s.Time.Round(time.Microsecond))
		}
		tw.Flush()
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sorted is "k=v, k2=v2" in key order.
func (kv keyValueFlags) sorted() string {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + kv[k]
	}
	return strings.Join(parts, ", ")
}

func runTransformPause(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return transformAction("pause", args, stdout, stderr)
}

func runTransformResume(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return transformAction("resume", args, stdout, stderr)
}

// transformAction pauses or resumes a deployment.
func transformAction(action string, args []string, stdout, stderr io.Writer) int {
	cmd := "transform " + action
	fs, admin := newAdminFlagSet(cmd, "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminSlowTimeout)
	defer cancel()
	var t transformStatus
	if err := cl.do(ctx, "POST", transformPath(pos[0])+"/"+action, nil, "", &t); err != nil {
		return failAdmin(stderr, cmd, transformNotFound(err))
	}
	if action == "pause" {
		fmt.Fprintf(stdout, "paused transform %s: its progress is kept; `skiff transform resume %s` goes on from there\n", t.Name, t.Name)
	} else {
		fmt.Fprintf(stdout, "resumed transform %s (%s)\n", t.Name, t.State)
	}
	return 0
}

func runTransformDelete(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("transform delete", "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := cl.do(ctx, "DELETE", transformPath(pos[0]), nil, "", nil); err != nil {
		return failAdmin(stderr, "transform delete", transformNotFound(err))
	}
	fmt.Fprintf(stdout, "deleted transform %s (what it wrote stays in its output topics)\n", pos[0])
	return 0
}

func runTransformLogs(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("transform logs", "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var lines []moduleLogLine
	if err := cl.do(ctx, "GET", transformPath(pos[0])+"/logs", nil, "", &lines); err != nil {
		return failAdmin(stderr, "transform logs", transformNotFound(err))
	}
	for _, l := range lines {
		fmt.Fprintf(stdout, "%s %s (%s): %s\n", l.Time.Local().Format("2006-01-02 15:04:05.000"), l.Module, l.Stream, l.Message)
	}
	if len(lines) == 0 {
		fmt.Fprintf(stderr, "transform %s: its modules have written nothing to stdout or stderr since the broker started\n", pos[0])
	}
	return 0
}
