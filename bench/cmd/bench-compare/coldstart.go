package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skiffstream/skiff/bench/internal/cpustat"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coldStart is what `bench-compare coldstart` prints.
type coldStart struct {
	// APIVersionsMs is the time from the process start to the first
	// ApiVersions request it answered: the cold start the targets name.
	APIVersionsMs float64 `json:"api_versions_ms"`
	// MetadataMs is the time to the first answered Metadata request, which
	// a broker can only answer once it knows its topics (Skiff answers
	// ApiVersions before its storage is open; Metadata waits for it).
	MetadataMs float64 `json:"metadata_ms"`
	// StartFrom says how the process start was taken.
	StartFrom string `json:"start_from"`
}

// pollEvery is the pause between connection attempts. A refused connect on
// loopback costs microseconds, so polling this often does not slow the broker
// that is starting.
const pollEvery = time.Millisecond

func coldStartMain(args []string) error {
	fs := flag.NewFlagSet("coldstart", flag.ExitOnError)
	addr := fs.String("addr", "", "broker address to poll (host:port)")
	addrFile := fs.String("addr-file", "", "file that will hold the address (the first of a comma-separated list), instead of --addr")
	since := fs.String("since", "", "the process start as bash's $EPOCHREALTIME (seconds.microseconds), taken just before it was started")
	pidFile := fs.String("pid-file", "", "file that will hold the broker's pid; its start time is read from /proc (10 ms resolution)")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	fs.Parse(args)

	deadline := time.Now().Add(*timeout)
	var start time.Time
	var from string
	switch {
	case *since != "":
		t, err := parseEpochRealtime(*since)
		if err != nil {
			return err
		}
		start, from = t, "the shell's clock just before it started the process"
	case *pidFile != "":
		pid, err := waitForFile(*pidFile, deadline)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(strings.TrimSpace(pid))
		if err != nil {
			return fmt.Errorf("pid file %s: %w", *pidFile, err)
		}
		if start, err = processStart(n); err != nil {
			return err
		}
		from = "the process start time in /proc (10 ms resolution)"
	default:
		return errors.New("give --since or --pid-file")
	}
	if *addrFile != "" {
		a, err := waitForFile(*addrFile, deadline)
		if err != nil {
			return err
		}
		*addr, _, _ = strings.Cut(strings.TrimSpace(a), ",")
	}
	if *addr == "" {
		return errors.New("give --addr or --addr-file")
	}

	apiVersions := kmsg.NewPtrApiVersionsRequest()
	apiVersions.Version = 3
	apiVersions.ClientSoftwareName = "skiff-bench-compare"
	apiVersions.ClientSoftwareVersion = "1"
	av, err := pollUntilAnswered(*addr, apiVersions, deadline)
	if err != nil {
		return fmt.Errorf("ApiVersions: %w", err)
	}
	// Metadata v4 is not flexible, so its response header is the correlation
	// id alone, like ApiVersions'. No topics listed: every topic.
	metadata := kmsg.NewPtrMetadataRequest()
	metadata.Version = 4
	md, err := pollUntilAnswered(*addr, metadata, deadline)
	if err != nil {
		return fmt.Errorf("metadata request: %w", err)
	}
	b, _ := json.Marshal(coldStart{
		APIVersionsMs: ms(av.Sub(start)),
		MetadataMs:    ms(md.Sub(start)),
		StartFrom:     from,
	})
	fmt.Println(string(b))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// parseEpochRealtime parses bash's $EPOCHREALTIME, "1763939298.123456".
// The locale may make the separator a comma.
func parseEpochRealtime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want $EPOCHREALTIME, seconds.microseconds", s)
	}
	frac = (frac + "000000000")[:9]
	nanos, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want $EPOCHREALTIME, seconds.microseconds", s)
	}
	return time.Unix(secs, nanos), nil
}

// waitForFile returns the content of path once it exists and is not empty.
func waitForFile(path string, deadline time.Time) (string, error) {
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return string(b), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not appear in time", path)
		}
		time.Sleep(pollEvery)
	}
}

// processStart is the wall-clock start of process pid: its start in clock
// ticks after boot (/proc/PID/stat field 22) placed on the wall clock by the
// time since boot (/proc/uptime). Both have 10 ms resolution.
func processStart(pid int) (time.Time, error) {
	fields, err := cpustat.ProcStat(pid)
	if err != nil {
		return time.Time{}, fmt.Errorf("process %d: %w", pid, err)
	}
	if len(fields) < 20 {
		return time.Time{}, fmt.Errorf("/proc/%d/stat: %d fields after the name, want 20 or more", pid, len(fields))
	}
	ticks, err := strconv.ParseFloat(fields[19], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/%d/stat starttime: %w", pid, err)
	}
	now := time.Now()
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	first, _, _ := strings.Cut(string(up), " ")
	uptime, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/uptime: %w", err)
	}
	sinceStart := time.Duration((uptime - ticks/cpustat.ClockTicks) * float64(time.Second))
	return now.Add(-sinceStart), nil
}

// pollUntilAnswered sends req on a new connection to addr until a response
// to it comes back, and returns when it did. Refused connections, closed
// connections and responses with an error code are retried.
func pollUntilAnswered(addr string, req kmsg.Request, deadline time.Time) (time.Time, error) {
	var last error
	for time.Now().Before(deadline) {
		answered, err := askOnce(addr, req, deadline)
		if err == nil {
			return answered, nil
		}
		last = err
		time.Sleep(pollEvery)
	}
	return time.Time{}, fmt.Errorf("%s not answered by %s in time (last: %v)", kmsg.NameForKey(req.Key()), addr, last)
}

// askOnce sends req with correlation id 1 and reads the response.
func askOnce(addr string, req kmsg.Request, deadline time.Time) (time.Time, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return time.Time{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("skiff-bench-compare")).AppendRequest(nil, req, 1)
	if _, err := conn.Write(frame); err != nil {
		return time.Time{}, err
	}
	body, err := readFrame(bufio.NewReader(conn))
	answered := time.Now()
	if err != nil {
		return time.Time{}, err
	}
	// Both requests used here have a version-0 response header: the
	// correlation id alone.
	if len(body) < 4 || binary.BigEndian.Uint32(body) != 1 {
		return time.Time{}, errors.New("response without correlation id 1")
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(body[4:]); err != nil {
		return time.Time{}, fmt.Errorf("decode %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	if av, ok := resp.(*kmsg.ApiVersionsResponse); ok && av.ErrorCode != 0 {
		return time.Time{}, fmt.Errorf("ApiVersions error code %d", av.ErrorCode)
	}
	return answered, nil
}

// readFrame reads one size-prefixed Kafka frame.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 64<<20 {
		return nil, fmt.Errorf("response of %d bytes: not a Kafka broker?", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}
