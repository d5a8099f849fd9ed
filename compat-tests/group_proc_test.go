package compat_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Group members in a child process: the Java, kafkajs and Python programs
// (java/.../GroupMember.java, node/group.js, python/group.py) and confluent-kafka-go in
// a copy of this test binary (TestGroupMemberProcess). Each is run as
//
//	PROGRAM... BOOTSTRAP TOPIC GROUP CLIENT_ID
//
// subscribes to TOPIC in GROUP from the earliest offset, with session.timeout.ms 6000,
// heartbeats every 500ms, no auto commit, and prints one line per event on stdout:
//
//	RECORD <partition> <offset> <value>      a record handed to the application
//	COMMITTED <p>:<next>,<p>:<next>...       a synchronous commit succeeded
//	ASSIGNED <p>,<p>... / REVOKED ... / LOST ...   incremental (cooperative) changes
//	ASSIGNMENT <p>,<p>...                    the whole assignment (eager clients)
//	NOTE <text>                              an error the member carried on from
//	HOLDING                                  answer to "hold"
//	CLOSED                                   it left the group and closed the client
//
// It commits after each batch it reads, and reads commands on stdin: "hold" (stop
// committing), "leave" (commit, close the consumer so it sends LeaveGroup, print
// CLOSED and exit 0). The test kills it with SIGKILL. A program gives up after 120s
// (the Java one after 300s with the consumer protocol).

const procMemberTail = 40 // output lines shown when a test fails

type procMember struct {
	id      string
	g       *groupRun
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	output  *procOutput
	acks    chan string   // HOLDING and CLOSED
	exited  chan struct{} // closed after Wait returned; waitErr set
	waitErr error
}

// startProcMember starts argv with the member's arguments appended and env added to
// its environment.
func startProcMember(g *groupRun, id string, argv, env []string) (groupMember, error) {
	args := append(append([]string{}, argv[1:]...), g.s.Addr(), g.topic, g.group, g.clientID(id))
	cmd := exec.Command(argv[0], args...)
	cmd.Env = append(os.Environ(), env...)
	m := &procMember{id: id, g: g, cmd: cmd, output: &procOutput{}, acks: make(chan string, 4), exited: make(chan struct{})}
	cmd.Stderr = m.output
	var err error
	if m.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd, err)
	}
	go func() {
		m.parse(stdout)
		m.waitErr = cmd.Wait() // after the last read from stdout, as os/exec requires
		close(m.exited)
	}()
	g.t.Cleanup(func() {
		select {
		case <-m.exited:
		default:
			cmd.Process.Kill()
			m.waitExit(10 * time.Second)
		}
		if g.t.Failed() {
			g.t.Logf("member %s (%s), last output lines:\n%s", id, argv[len(argv)-1], m.output.tail(procMemberTail))
		}
	})
	return m, nil
}

// parse applies the member's event lines to the log until its stdout closes.
func (m *procMember) parse(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if err := m.apply(line); err != nil {
			m.output.Write([]byte(fmt.Sprintf("unparsed line %q: %v\n", line, err)))
		}
	}
}

func (m *procMember) apply(line string) error {
	kind, rest, _ := strings.Cut(line, " ")
	l, id := m.g.log, m.id
	switch kind {
	case "RECORD":
		f := strings.SplitN(rest, " ", 3)
		if len(f) != 3 {
			return errors.New("want RECORD partition offset value")
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		l.read(id, int32(p), o, f[2])
	case "COMMITTED":
		offsets := map[int32]int64{}
		for _, po := range strings.Split(rest, ",") {
			ps, offs, _ := strings.Cut(po, ":")
			p, err1 := strconv.ParseInt(ps, 10, 32)
			o, err2 := strconv.ParseInt(offs, 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			offsets[int32(p)] = o
		}
		l.commit(id, offsets)
	case "ASSIGNED", "REVOKED", "LOST", "ASSIGNMENT":
		var ps []int32
		for _, s := range strings.Split(rest, ",") {
			if s == "" {
				continue
			}
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return err
			}
			ps = append(ps, int32(p))
		}
		map[string]func(string, []int32){"ASSIGNED": l.assigned, "REVOKED": l.revoked, "LOST": l.lost, "ASSIGNMENT": l.assignment}[kind](id, ps)
	case "NOTE":
		l.note(id, rest)
	case "HOLDING", "CLOSED":
		m.acks <- kind
	default:
		m.output.Write([]byte(line + "\n"))
	}
	return nil
}

func (m *procMember) send(cmd string) error {
	if _, err := io.WriteString(m.stdin, cmd+"\n"); err != nil {
		return fmt.Errorf("member %s: send %q: %w\n%s", m.id, cmd, err, m.output.tail(procMemberTail))
	}
	return nil
}

func (m *procMember) hold() error {
	if err := m.send("hold"); err != nil {
		return err
	}
	select {
	case ack := <-m.acks:
		if ack == "HOLDING" {
			return nil
		}
		return fmt.Errorf("member %s answered hold with %s", m.id, ack)
	case <-m.exited:
		return fmt.Errorf("member %s exited (%v) instead of holding\n%s", m.id, m.waitErr, m.output.tail(procMemberTail))
	case <-time.After(10 * time.Second):
		return fmt.Errorf("member %s did not answer hold in 10s\n%s", m.id, m.output.tail(procMemberTail))
	}
}

func (m *procMember) leave() error {
	if err := m.send("leave"); err != nil {
		return err
	}
	if err := m.waitExit(groupProcTimeout); err != nil {
		m.cmd.Process.Kill()
		return err
	}
	closed := false
	for len(m.acks) > 0 {
		if <-m.acks == "CLOSED" {
			closed = true
		}
	}
	switch {
	case m.waitErr != nil:
		return fmt.Errorf("member %s exited with %v after leave\n%s", m.id, m.waitErr, m.output.tail(procMemberTail))
	case !closed:
		return fmt.Errorf("member %s exited without printing CLOSED\n%s", m.id, m.output.tail(procMemberTail))
	}
	return nil
}

func (m *procMember) kill() error {
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("member %s: SIGKILL: %w", m.id, err)
	}
	return m.waitExit(10 * time.Second)
}

func (m *procMember) waitExit(d time.Duration) error {
	select {
	case <-m.exited:
		return nil
	case <-time.After(d):
		return fmt.Errorf("member %s (pid %d) still running after %v\n%s", m.id, m.cmd.Process.Pid, d, m.output.tail(procMemberTail))
	}
}

// procOutput keeps what a member printed besides its events.
type procOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *procOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len() > 1<<20 {
		return len(b), nil
	}
	return o.buf.Write(b)
}

func (o *procOutput) tail(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := strings.Split(strings.TrimRight(o.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
