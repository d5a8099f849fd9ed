package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// View clients in a child process: the Java, kafkajs and Python programs
// (java/.../ViewClient.java, node/view.js, python/view.py) and Go clients that can
// crash the process they run in (a copy of this test binary, TestViewClientProcess).
// Each is run as
//
//	PROGRAM... BOOTSTRAP produce|consume TOPIC
//
// produce reads lines "SEND <partition> <codec> <value> <value>..." on stdin; it sends
// the values of a line together, as one batch, to the partition (key: the value up to
// "|"), waits for their acknowledgements and prints "ACK <partition> <offset> <value>"
// for each, in order, before it reads the next line; at the end of stdin it prints DONE
// and exits 0.
//
// consume reads every partition of TOPIC from the beginning and prints, on stdout:
//
//	RECORD <partition> <offset> <key> <value>   a record handed to the application
//	POSITION <partition> <offset>               the client's own position (Java)
//	EOF <partition> <offset>                    the client says it reached the end (librdkafka)
//	NOTE <text>                                 an error it carried on from
//	CLOSED                                      it closed the consumer
//
// until it reads "stop" or the end of stdin; it gives up after 120s.

const viewProcTail = 30

// procViewClient is a viewClient whose producer and consumer are argv.
func procViewClient(name string, argv, env []string) viewClient {
	return viewClient{
		name: name,
		produce: func(ctx context.Context, t *testing.T, addr, topic string, sends []viewSend) ([]record, error) {
			return procViewProduce(ctx, argv, env, addr, topic, sends)
		},
		consume: func(t *testing.T, addr, topic string, reads *viewReads) (func() error, error) {
			args := append(append([]string{}, argv[1:]...), addr, "consume", topic)
			return startViewProc(t, exec.Command(argv[0], args...), env, reads, parseViewLine, nil)
		},
	}
}

func procViewProduce(ctx context.Context, argv, env []string, addr, topic string, sends []viewSend) ([]record, error) {
	var in bytes.Buffer
	for _, s := range sends {
		fmt.Fprintf(&in, "SEND %d %s %s\n", s.Partition, s.Codec, strings.Join(s.Values, " "))
	}
	args := append(append([]string{}, argv[1:]...), addr, "produce", topic)
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdin = &in
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s%s", cmd, err, tail(out.String(), viewProcTail), tail(errOut.String(), viewProcTail))
	}
	var acks []record
	done := false
	for _, line := range strings.Split(out.String(), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "ACK":
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 {
				return nil, fmt.Errorf("bad line %q", line)
			}
			p, err1 := strconv.ParseInt(f[0], 10, 32)
			o, err2 := strconv.ParseInt(f[1], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("bad line %q: %w", line, err)
			}
			acks = append(acks, record{Key: viewKey(f[2]), Value: f[2], Partition: int32(p), Offset: o})
		case "DONE":
			done = true
		}
	}
	if !done {
		return nil, fmt.Errorf("%s exited 0 without DONE\n%s", cmd, tail(out.String()+errOut.String(), viewProcTail))
	}
	return acks, nil
}

// startViewProc starts a consumer process; each line it prints on stdout goes to
// parseOut, on stderr to parseErr (when not nil) and to its output. stop asks it to
// stop, waits for it to exit and returns an error if it did not exit 0.
func startViewProc(t *testing.T, cmd *exec.Cmd, env []string, reads *viewReads, parseOut, parseErr func(string, *viewReads) bool) (func() error, error) {
	cmd.Env = append(os.Environ(), env...)
	output := &procOutput{}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd, err)
	}
	reads.output = output.tail
	lines := func(r io.Reader, parse func(string, *viewReads) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if parse == nil || !parse(sc.Text(), reads) {
				output.Write([]byte(sc.Text() + "\n"))
			}
		}
	}
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		lines(stderr, parseErr)
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() {
		lines(stdout, parseOut)
		<-errDone
		waitErr = cmd.Wait() // after the last read, as os/exec requires
		reads.exit(waitErr)
		close(exited)
	}()
	return func() error {
		io.WriteString(stdin, "stop\n")
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("%s did not stop within 20s of stop; killed\n%s", cmd, output.tail(viewProcTail))
		}
		if waitErr != nil {
			return fmt.Errorf("%s: %w\n%s", cmd, waitErr, output.tail(viewProcTail))
		}
		return nil
	}, nil
}

// parseViewLine applies one line of the consume protocol to reads; it returns false
// for lines that are not part of it.
func parseViewLine(line string, reads *viewReads) bool {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "RECORD":
		f := strings.SplitN(rest, " ", 4)
		if len(f) != 4 {
			return false
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		reads.add(record{Key: f[2], Value: f[3], Partition: int32(p), Offset: o})
	case "POSITION", "EOF":
		var p int32
		var o int64
		if _, err := fmt.Sscanf(rest, "%d %d", &p, &o); err != nil {
			return false
		}
		reads.position(p, o)
	case "NOTE":
		reads.note("%s", rest)
	case "CLOSED":
	default:
		return false
	}
	return true
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// viewChildEnv names the client TestViewClientProcess runs.
const viewChildEnv = "SKIFF_COMPAT_VIEW_CLIENT"

// childViewClient is a viewClient whose consumer runs in a copy of this test binary:
// a client bug that panics then ends that process, not the test binary.
func childViewClient(c viewClient) viewClient {
	argv := []string{os.Args[0], "-test.run=^TestViewClientProcess$", "--"}
	c.consume = func(t *testing.T, addr, topic string, reads *viewReads) (func() error, error) {
		args := append(append([]string{}, argv[1:]...), addr, "consume", topic)
		return startViewProc(t, exec.Command(argv[0], args...), []string{viewChildEnv + "=" + c.name}, reads, parseViewLine, nil)
	}
	return c
}

// viewChildConsumers are the consumers TestViewClientProcess can run.
var viewChildConsumers = map[string]func(*testing.T, string, string, *viewReads) (func() error, error){
	"kafka-go": kafkagoViewConsume,
}

// TestViewClientProcess is not a test: it is the consumer that childViewClient runs
// in a child process (arguments and output as in procViewClient), and skips otherwise.
func TestViewClientProcess(t *testing.T) {
	name := os.Getenv(viewChildEnv)
	if name == "" {
		t.Skip("the child process of a TestCompatView* test")
	}
	if err := viewChild(t, name, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL %s view consumer: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func viewChild(t *testing.T, name string, args []string) error {
	consume := viewChildConsumers[name]
	if consume == nil || len(args) != 3 || args[1] != "consume" {
		return fmt.Errorf("client %q, arguments %q: want a client of viewChildConsumers and BOOTSTRAP consume TOPIC", name, args)
	}
	reads := newViewReads()
	reads.emit = func(line string) { fmt.Println(line) }
	stop, err := consume(t, args[0], args[2], reads)
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() && strings.TrimSpace(sc.Text()) != "stop" {
		}
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(120 * time.Second):
		stop()
		return errors.New("not told to stop within 120s")
	}
	if err := stop(); err != nil {
		return err
	}
	fmt.Println("CLOSED")
	return nil
}
