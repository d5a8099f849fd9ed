package main

// `skiff smartmodule create|list|describe|delete|test`: WebAssembly
// modules stored in the cluster's metadata, through the admin API
// (cli_admin.go). A stored module is used by name: in a transforms.yml
// (`uses: NAME`), by `skiff transform deploy --module NAME` and by `skiff
// consume --smartmodule NAME`. `test` runs a module locally
// (cli_smartmodule_run.go).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skiffstream/skiff/raftlog"
	"github.com/skiffstream/skiff/transforms/chain"
)

var smartmoduleCommands = []subcommand{
	{"create", "NAME --wasm-file F [--replace]", "store a WebAssembly module under a name", runSmartModuleCreate},
	{"list", "", "list stored modules", runSmartModuleList},
	{"describe", "NAME", "show a module's kind, size, hash and the transforms that use it", runSmartModuleDescribe},
	{"delete", "NAME", "delete a stored module", runSmartModuleDelete},
	{"test", "NAME|--wasm-file F|--transforms-file F --text '...'", "run a module locally on given records and print what comes out", runSmartModuleTest},
}

func runSmartModule(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runGroupOf("smartmodule", smartmoduleCommands, args, stdin, stdout, stderr)
}

// modulePath is the admin API path of a module; names may hold '/'
// (infinyon/jolt), so the name is one escaped path segment.
func modulePath(name string) string { return "smartmodules/" + url.PathEscape(name) }

func runSmartModuleCreate(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("smartmodule create", "NAME --wasm-file F [--replace] [flags]", stderr)
	file := fs.String("wasm-file", "", "the module, a `FILE` built for WebAssembly (GOOS=wasip1 GOARCH=wasm go build, or Redpanda's SDKs)")
	replace := fs.Bool("replace", false, "replace a module of that name (transforms and topics that use it pick up the new one)")
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	if *file == "" {
		return usageError(fs, stderr, "--wasm-file is required: the .wasm file to store")
	}
	name := pos[0]
	wasm, err := os.ReadFile(*file)
	if err != nil {
		return failAdmin(stderr, "smartmodule create", err)
	}
	path := modulePath(name)
	if *replace {
		path += "?replace=true"
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminSlowTimeout)
	defer cancel()
	var m raftlog.ModuleMeta
	if err := cl.do(ctx, "POST", path, bytes.NewReader(wasm), "application/wasm", &m); err != nil {
		return failAdmin(stderr, "smartmodule create", err)
	}
	verb := "created"
	if *replace {
		verb = "stored"
	}
	fmt.Fprintf(stdout, "%s SmartModule %s (%s, %s, sha256 %s)\n", verb, m.Name, kindLabel(m.Kind), humanBytes(int64(m.Size)), shortHash(m.SHA256))
	return 0
}

func runSmartModuleList(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("smartmodule list", "[flags]", stderr)
	_, cl, code, ok := adminCommand(fs, admin, args, 0, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var mods []raftlog.ModuleMeta
	if err := cl.do(ctx, "GET", "smartmodules", nil, "", &mods); err != nil {
		return failAdmin(stderr, "smartmodule list", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSIZE\tSHA256\tCREATED")
	stored := 0
	for _, m := range mods {
		created := formatTime(m.CreatedAt)
		if m.Builtin {
			created = "built-in"
		} else {
			stored++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, kindLabel(m.Kind), humanBytes(int64(m.Size)), shortHash(m.SHA256), created)
	}
	if err := tw.Flush(); err != nil {
		return failAdmin(stderr, "smartmodule list", err)
	}
	if stored == 0 {
		fmt.Fprintln(stderr, "no SmartModules stored yet: store one with `skiff smartmodule create NAME --wasm-file F` (the built-in ones need no storing)")
	}
	return 0
}

func runSmartModuleDescribe(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("smartmodule describe", "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	name := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var m raftlog.ModuleMeta
	if err := cl.do(ctx, "GET", modulePath(name), nil, "", &m); err != nil {
		return failAdmin(stderr, "smartmodule describe", moduleNotFound(err, name))
	}
	kind := kindLabel(m.Kind)
	if m.Kind == "" {
		// The broker probes a module without parameters when it stores
		// it; a module that needs some to start tells its kind when a
		// chain runs it with them.
		kind += " (a module built with Skiff's SDK that needs parameters to start tells its kind when it runs with them; one built with Redpanda's SDK has none, and views refuse it)"
	}
	created := formatTime(m.CreatedAt)
	if m.Builtin {
		created = "built in (shipped in the binary; the broker runs it natively; a module stored under this name replaces it)"
	}
	fmt.Fprintf(stdout, "Name:     %s\nKind:     %s\nSize:     %s (%d bytes)\nSHA256:   %s\nCreated:  %s\n",
		m.Name, kind, humanBytes(int64(m.Size)), m.Size, m.SHA256, created)
	// Which deployments use it; topics that use it are in their configs
	// (skiff topic describe).
	var ts []transformStatus
	if err := cl.do(ctx, "GET", "transforms", nil, "", &ts); err == nil {
		var users []string
		for _, t := range ts {
			if specUses(t.Spec, name) {
				users = append(users, t.Name)
			}
		}
		if len(users) > 0 {
			fmt.Fprintf(stdout, "Used by:  transform %s\n", strings.Join(users, ", transform "))
		}
	}
	return 0
}

// specUses reports whether a transforms.yml has a step that uses module.
func specUses(spec, module string) bool {
	s, err := chain.ParseSpec([]byte(spec))
	if err != nil {
		return false
	}
	for _, st := range s.Steps {
		if st.Uses == module {
			return true
		}
	}
	return false
}

func runSmartModuleDelete(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs, admin := newAdminFlagSet("smartmodule delete", "NAME [flags]", stderr)
	pos, cl, code, ok := adminCommand(fs, admin, args, 1, stderr)
	if !ok {
		return code
	}
	name := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := cl.do(ctx, "DELETE", modulePath(name), nil, "", nil); err != nil {
		return failAdmin(stderr, "smartmodule delete", moduleNotFound(err, name))
	}
	fmt.Fprintf(stdout, "deleted SmartModule %s\n", name)
	return 0
}

// moduleNotFound adds what to do to the admin API's 404 for a module.
func moduleNotFound(err error, name string) error {
	if isNotFound(err) {
		return fmt.Errorf("%v: `skiff smartmodule list` shows the stored modules", err)
	}
	return err
}

// kindLabel names a module's kind ("" is a module without Skiff's SDK).
func kindLabel(kind string) string { return chain.Kind(kind).String() }

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// humanBytes formats a size with a binary unit: 512 B, 1.5 KiB, 2.3 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
