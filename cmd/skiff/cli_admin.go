package main

// The client of Skiff's HTTP admin API (broker/admin.go), which carries what
// the Kafka protocol has no request for: SmartModule bytes and
// topic-to-topic deployments. `skiff smartmodule` and `skiff transform` use
// it; it listens on the broker's --metrics-listen address, so --admin (env
// SKIFF_ADMIN) defaults to where `skiff server` puts it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

const (
	// defaultAdminURL is the metrics listener of `skiff server` by default.
	defaultAdminURL = "http://127.0.0.1:9644"
	// adminEnv overrides defaultAdminURL.
	adminEnv = "SKIFF_ADMIN"
	// adminSlowTimeout bounds the admin calls that load a module on the
	// broker (create, deploy): the first load compiles it.
	adminSlowTimeout = 2 * time.Minute
)

func defaultAdmin() string {
	if a := strings.TrimSpace(getenv(adminEnv)); a != "" {
		return a
	}
	return defaultAdminURL
}

// newAdminFlagSet is newFlagSet for the commands that talk to the admin
// API: they take --admin instead of --brokers.
func newAdminFlagSet(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("skiff "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: skiff %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	admin := fs.String("admin", defaultAdmin(), "`URL` of the broker's admin API, its --metrics-listen address (env "+adminEnv+")")
	return fs, admin
}

// adminClient calls one broker's admin API.
type adminClient struct {
	base string // scheme://host:port, no trailing slash
	http *http.Client
}

// newAdminClient accepts a URL or a bare HOST:PORT.
func newAdminClient(raw string) (*adminClient, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--admin %q: want a URL such as %s or HOST:PORT", raw, defaultAdminURL)
	}
	return &adminClient{base: raw, http: &http.Client{}}, nil
}

// adminError is an error the admin API answered.
type adminError struct {
	status int
	msg    string
}

func (e *adminError) Error() string { return e.msg }

// isNotFound reports whether err is the admin API's 404.
func isNotFound(err error) bool {
	var ae *adminError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}

// do sends a request to path (below /v1/) and decodes a JSON answer into
// out (unless out is nil). An error answer becomes an *adminError with the
// broker's message.
func (a *adminClient) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	raw, err := a.raw(ctx, method, path, body, contentType)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the admin API at %s answered %s %s with something that is not the expected JSON (%v): check that --admin points at a Skiff broker", a.base, method, path, err)
	}
	return nil
}

// raw is do without decoding: it returns the body of a 2xx answer.
func (a *adminClient) raw(ctx context.Context, method, path string, body io.Reader, contentType string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/v1/"+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, a.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the admin API's answer: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return nil, &adminError{status: resp.StatusCode, msg: e.Error}
	}
	// Not Skiff's JSON: another server, or a Skiff without the admin API.
	return nil, &adminError{status: resp.StatusCode, msg: fmt.Sprintf(
		"%s answered %s %s with HTTP %d and no Skiff error: check that --admin (or %s) is a Skiff broker's --metrics-listen address",
		a.base, method, "/v1/"+path, resp.StatusCode, adminEnv)}
}

// unreachable explains why the admin API did not answer.
func (a *adminClient) unreachable(err error) error {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Errorf("no Skiff admin API at %s: start a broker with `skiff server` (the admin API listens on its --metrics-listen address, %s by default; --metrics-listen '' turns it off), or pass --admin URL / set %s",
			a.base, strings.TrimPrefix(defaultAdminURL, "http://"), adminEnv)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the admin API at %s did not answer in time: the broker may be busy (a first use compiles a module); retry, and check that --admin / %s is right", a.base, adminEnv)
	default:
		return fmt.Errorf("cannot talk to the admin API at %s: %w", a.base, err)
	}
}

// jsonBody encodes v for a request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// adminCommand parses the flags of an admin subcommand, checks the number
// of positionals and makes the client. ok=false carries the exit code.
func adminCommand(fs *flag.FlagSet, admin *string, args []string, wantPos int, stderr io.Writer) (pos []string, cl *adminClient, code int, ok bool) {
	pos, code, ok = parseOrExit(fs, args, wantPos, stderr)
	if !ok {
		return nil, nil, code, false
	}
	cl, err := newAdminClient(*admin)
	if err != nil {
		return nil, nil, usageError(fs, stderr, "%v", err), false
	}
	return pos, cl, 0, true
}

// failAdmin prints `skiff CMD: MESSAGE` and returns exit code 1.
func failAdmin(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "skiff %s: %v\n", cmd, err)
	return 1
}

// subcommand is one command of a command group (`skiff smartmodule
// create`).
type subcommand struct {
	name, synopsis, summary string
	run                     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// runGroupOf dispatches `skiff GROUP COMMAND ...` to one of cmds.
func runGroupOf(group string, cmds []subcommand, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: skiff %s COMMAND [flags]\n\nCommands:\n", group)
		for _, c := range cmds {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nRun `skiff %s COMMAND -h` for the flags of a command.\n", group)
	}
	if len(args) > 0 {
		for _, c := range cmds {
			if c.name == args[0] {
				return c.run(args[1:], stdin, stdout, stderr)
			}
		}
		if h := args[0]; h == "help" || h == "-h" || h == "--help" {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "skiff %s: unknown command %q\n\n", group, args[0])
	}
	usage(stderr)
	return 2
}

// keyValueFlags collects repeated k=v flags (--params, --var) in order of
// appearance; a later value for a key wins.
type keyValueFlags map[string]string

func (kv keyValueFlags) String() string {
	var parts []string
	for k, v := range kv {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (kv keyValueFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	kv[k] = v
	return nil
}

var _ flag.Value = keyValueFlags{}
