package main

// `skiff smartmodule test`: run a module, or a transforms.yml chain, in
// this process on records given on the command line or stdin, and print
// what comes out. The same engine and chain code as the broker's
// (transforms/engine, transforms/chain) so a module behaves here as it will
// there; only the bytes come from the broker (GET /v1/smartmodules/NAME/wasm
// serves stored and built-in modules alike) unless --wasm-file names a
// local file.
//
// # Notes
//
//   - All records go through the chain as one batch, so an aggregate
//     carries its state from the first record to the last.
//   - A record a module fails on is reported and dropped, and the others
//     go on (the dead-letter policy, without a topic to write to); the exit
//     code is then 1.
//   - A lookback in the transforms.yml is ignored: there is no topic to
//     replay.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiffstream/skiff/protocol"
	"github.com/skiffstream/skiff/transforms/chain"
	"github.com/skiffstream/skiff/transforms/engine"
)

// localWasmCache is the compilation cache of `skiff smartmodule test`, so a
// module compiles once per machine; tests point it elsewhere.
var localWasmCache = func() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "" // in memory only
	}
	return filepath.Join(dir, "skiff", "wasm-cache")
}

// testTopic is the input and output topic a module sees locally.
const testTopic = "smartmodule-test"

// repeatedFlag collects a flag given several times, in order.
type repeatedFlag []string

func (r *repeatedFlag) String() string     { return strings.Join(*r, ",") }
func (r *repeatedFlag) Set(s string) error { *r = append(*r, s); return nil }

type smartModuleTestOptions struct {
	name, wasmFile, transformsFile string
	params                         keyValueFlags
	texts                          repeatedFlag
	key, keySeparator              string
	keySet                         bool
}

func runSmartModuleTest(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("smartmodule test", "NAME|--wasm-file F|--transforms-file F [--params k=v]... [--text '...']... [--key K] [flags]", stderr)
	o := smartModuleTestOptions{params: keyValueFlags{}}
	fs.StringVar(&o.wasmFile, "wasm-file", "", "run the module in this local `FILE` instead of a stored one")
	fs.StringVar(&o.transformsFile, "transforms-file", "", "run the chain of this transforms.yml `FILE` (its modules are fetched from the broker)")
	fs.Var(o.params, "params", "a parameter of the module, `key=value` (repeatable); with --transforms-file, added to every step that lacks it")
	fs.Var(&o.texts, "text", "a record's value (repeatable; without it, records are read from stdin, one per line)")
	fs.StringVar(&o.key, "key", "", "the key of the --text records")
	fs.StringVar(&o.keySeparator, "key-separator", "", "split each stdin line at the first `SEP` into key and value, and print outputs as key SEP value")
	pos, err := parseFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fs.Visit(func(f *flag.Flag) { o.keySet = o.keySet || f.Name == "key" })
	switch {
	case len(pos) > 1:
		return usageError(fs, stderr, "unexpected argument %q", pos[1])
	case len(pos) == 1:
		o.name = pos[0]
	}
	sources := 0
	for _, s := range []string{o.name, o.wasmFile, o.transformsFile} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return usageError(fs, stderr, "name the module to run: a stored module NAME, --wasm-file F or --transforms-file F (one of the three)")
	}
	if o.keySet && len(o.texts) == 0 {
		return usageError(fs, stderr, "--key is the key of the --text records: pass --text too (stdin lines take keys with --key-separator)")
	}
	cl, err := newAdminClient(*admin)
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}

	records, err := testRecords(o, stdin, stderr)
	if err != nil {
		return failAdmin(stderr, "smartmodule test", err)
	}
	if len(records) == 0 {
		fmt.Fprintln(stderr, "skiff smartmodule test: no records: give --text '...' or lines on stdin")
		return 1
	}
	ctx, stop := context.WithTimeout(context.Background(), adminSlowTimeout)
	defer stop()
	return testModule(ctx, cl, o, records, stdout, stderr)
}

// testRecords returns the records to run: the --text values, or stdin's
// lines.
func testRecords(o smartModuleTestOptions, stdin io.Reader, stderr io.Writer) ([]protocol.Record, error) {
	var recs []protocol.Record
	add := func(key []byte, value string) {
		recs = append(recs, protocol.Record{OffsetDelta: int32(len(recs)), Key: key, Value: []byte(value)})
	}
	if len(o.texts) > 0 {
		var key []byte
		if o.keySet {
			key = []byte(o.key)
		}
		for _, t := range o.texts {
			add(key, t)
		}
		return recs, nil
	}
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintln(stderr, "reading records from stdin, one per line; end with Ctrl-D (or pass --text)")
		}
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		var key []byte
		if o.keySeparator != "" {
			if k, v, ok := strings.Cut(line, o.keySeparator); ok {
				key, line = []byte(k), v
			}
		}
		add(key, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return recs, nil
}

// testModule builds the chain, runs records through it and prints the
// outputs and per-record errors.
func testModule(ctx context.Context, cl *adminClient, o smartModuleTestOptions, records []protocol.Record, stdout, stderr io.Writer) int {
	spec, resolve, err := testChainSpec(o, cl)
	if err != nil {
		return failAdmin(stderr, "smartmodule test", err)
	}
	cfg := engine.Config{CacheDir: localWasmCache(), Logger: slog.New(moduleOutputHandler{w: stderr})}
	eng, err := engine.New(ctx, cfg)
	if err != nil && cfg.CacheDir != "" {
		// A cache that cannot be written costs time, not correctness.
		cfg.CacheDir = ""
		eng, err = engine.New(ctx, cfg)
	}
	if err != nil {
		return failAdmin(stderr, "smartmodule test", fmt.Errorf("start the WebAssembly engine: %w", err))
	}
	defer eng.Close(context.Background())
	c, err := chain.New(ctx, chain.Config{
		Engine: eng, Resolve: resolve,
		InputTopic: testTopic, OutputTopics: []string{testTopic},
		// dead-letter lists the records modules fail on and goes on with
		// the others; nothing is written anywhere.
		Policy: chain.Policy{Action: chain.DeadLetter, Topic: testTopic},
		Logger: slog.New(slog.DiscardHandler),
	}, spec)
	if err != nil {
		return failAdmin(stderr, "smartmodule test", err)
	}
	defer c.Close()

	now := time.Now().UnixMilli()
	h := protocol.BatchHeader{BaseTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, LastOffsetDelta: int32(len(records) - 1)}
	res, err := c.Process(ctx, engine.Batch{Header: h, Records: records})
	if err != nil {
		return failAdmin(stderr, "smartmodule test", err)
	}
	out := bufio.NewWriter(stdout)
	for _, o2 := range res.Outputs {
		if o.keySeparator != "" {
			out.Write(o2.Record.Key)
			out.WriteString(o.keySeparator)
		}
		out.Write(o2.Record.Value)
		out.WriteByte('\n')
	}
	if err := out.Flush(); err != nil {
		return failAdmin(stderr, "smartmodule test", err)
	}
	for _, dl := range res.DeadLetters {
		cause := dl.Err
		var be *engine.BatchError
		if errors.As(cause, &be) && be.Err != nil {
			cause = be.Err
		}
		fmt.Fprintf(stderr, "record %d (%q): step %d (%s) failed: %v\n", dl.Input+1, truncate(string(records[dl.Input].Value), 60), dl.Step+1, dl.Module, cause)
	}
	if len(res.DeadLetters) > 0 {
		fmt.Fprintf(stderr, "skiff smartmodule test: %d of %s failed\n", len(res.DeadLetters), plural(len(records), "record"))
		return 1
	}
	return 0
}

// testChainSpec returns the chain to run and how its modules are found.
func testChainSpec(o smartModuleTestOptions, cl *adminClient) (*chain.Spec, chain.Resolve, error) {
	fetch := func(ctx context.Context, uses string) (string, []byte, error) {
		return fetchModule(ctx, cl, uses)
	}
	switch {
	case o.wasmFile != "":
		wasm, err := os.ReadFile(o.wasmFile)
		if err != nil {
			return nil, nil, err
		}
		name := strings.TrimSuffix(filepath.Base(o.wasmFile), ".wasm")
		return chain.SingleStep(name, o.params), func(context.Context, string) (string, []byte, error) { return name, wasm, nil }, nil
	case o.name != "":
		return chain.SingleStep(o.name, o.params), fetch, nil
	}
	yml, err := os.ReadFile(o.transformsFile)
	if err != nil {
		return nil, nil, err
	}
	spec, err := chain.ParseSpec(yml)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.transformsFile, err)
	}
	for i := range spec.Steps {
		for k, v := range o.params {
			if _, set := spec.Steps[i].With[k]; !set {
				spec.Steps[i].With[k] = v
			}
		}
	}
	return spec, fetch, nil
}

// fetchModule gets a module's bytes from the broker: a stored module or a
// built-in. A Hub-style name (infinyon/jolt@0.4.1) that is not stored as
// written is tried without its version, as the broker resolves it.
func fetchModule(ctx context.Context, cl *adminClient, uses string) (string, []byte, error) {
	wasm, err := cl.raw(ctx, "GET", modulePath(uses)+"/wasm", nil, "")
	if isNotFound(err) {
		if at := strings.LastIndexByte(uses, '@'); at > 0 {
			if w, err2 := cl.raw(ctx, "GET", modulePath(uses[:at])+"/wasm", nil, ""); err2 == nil {
				return uses[:at], w, nil
			}
		}
		return "", nil, fmt.Errorf("%v: store it with `skiff smartmodule create %s --wasm-file F`, or run a local file with --wasm-file", err, uses)
	}
	if err != nil {
		return "", nil, err
	}
	return uses, wasm, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// moduleOutputHandler prints what modules write to stdout and stderr, as
// `module (stream): line`, and nothing else: the engine's other records
// are about instances this command does not manage. The kind probe's
// answer is not the module's output either.
type moduleOutputHandler struct {
	w     io.Writer
	attrs []slog.Attr
}

func (h moduleOutputHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h moduleOutputHandler) Handle(_ context.Context, r slog.Record) error {
	var module, stream string
	visit := func(a slog.Attr) bool {
		switch a.Key {
		case "module":
			module = a.Value.String()
		case "stream":
			stream = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	if module == "" || stream == "" || strings.HasPrefix(r.Message, `{"skiff_sdk_kind"`) {
		return nil
	}
	_, err := fmt.Fprintf(h.w, "%s (%s): %s\n", module, stream, r.Message)
	return err
}

func (h moduleOutputHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return moduleOutputHandler{w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h moduleOutputHandler) WithGroup(string) slog.Handler { return h }
