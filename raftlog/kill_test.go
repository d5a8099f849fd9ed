package raftlog

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRaftlogKill9MidProduce appends batches in a child process that prints
// each acknowledged base offset, SIGKILLs it mid-stream, reopens the store
// and checks that every acknowledged batch is there at its offset. It runs
// the kill at several points to hit different moments of the write path.
func TestRaftlogKill9MidProduce(t *testing.T) {
	if os.Getenv("SKIFF_KILL_CHILD_DIR") != "" {
		killChild(os.Getenv("SKIFF_KILL_CHILD_DIR"))
		return
	}
	for _, after := range []int{1, 37, 200} {
		t.Run(strconv.Itoa(after), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRaftlogKill9MidProduce$")
			cmd.Env = append(os.Environ(), "SKIFF_KILL_CHILD_DIR="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := map[int64]bool{}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "acked ") {
					continue
				}
				off, _ := strconv.ParseInt(strings.TrimPrefix(line, "acked "), 10, 64)
				acked[off] = true
				if len(acked) == after {
					cmd.Process.Signal(syscall.SIGKILL)
					break
				}
			}
			cmd.Wait()
			if len(acked) < after {
				t.Fatalf("child acknowledged only %d batches", len(acked))
			}
			s := openTestStore(t, nil, dir)
			defer s.Close()
			p := openTestPartition(t, s, 1)
			defer p.Close()
			deadline := time.Now().Add(10 * time.Second)
			var maxAcked int64
			for off := range acked {
				maxAcked = max(maxAcked, off)
			}
			for {
				if _, hw := p.Offsets(); hw > maxAcked || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			have := map[int64]bool{}
			var next int64
			for _, h := range readAll(t, p) {
				if h.BaseOffset != next {
					t.Fatalf("offsets not dense after restart: batch at %d, want %d", h.BaseOffset, next)
				}
				next += int64(h.NumRecords)
				have[h.BaseOffset] = true
			}
			for off := range acked {
				if !have[off] {
					t.Fatalf("acknowledged batch at offset %d lost after kill -9 (%d acked, %d present)", off, len(acked), len(have))
				}
			}
		})
	}
}

// killChild appends batches forever, printing each acknowledged offset.
func killChild(dir string) {
	s, err := OpenStore(dir, StoreOptions{MemTableSize: 4 << 20})
	if err != nil {
		panic(err)
	}
	p, err := OpenPartition(s, 1, GroupOptions{NodeID: "1"})
	if err != nil {
		panic(err)
	}
	p.WaitLeader(5 * time.Second)
	w := bufio.NewWriter(os.Stdout)
	batch := testBatch(&testing.T{}, 20, 200, -1, -1, -1)
	futs := make(chan *AppendFuture, 16)
	go func() {
		for {
			futs <- p.Append(batch)
		}
	}()
	for i := 0; ; i++ {
		r := (<-futs).Wait()
		if r.Err != nil {
			panic(r.Err)
		}
		fmt.Fprintf(w, "acked %d\n", r.BaseOffset)
		w.Flush()
		if i%50 == 0 {
			p.Snapshot()
		}
	}
}
