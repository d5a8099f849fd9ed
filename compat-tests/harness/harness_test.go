package harness

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompatHarnessLifecycle checks that a record survives Restart and
// Kill9+StartAgain, and that the server keeps its address and data dir.
func TestCompatHarnessLifecycle(t *testing.T) {
	s := Start(t)
	addr, dataDir := s.Addr(), s.DataDir()
	CreateTopic(t, addr, "harness", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "harness", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	checkEnd := func(when string) {
		t.Helper()
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "harness")
		if err != nil {
			t.Fatalf("%s: list end offsets: %v", when, err)
		}
		o, _ := ends.Lookup("harness", 0)
		if o.Err != nil || o.Offset != 1 {
			t.Fatalf("%s: end offset of harness-0 = %d (err %v), want 1", when, o.Offset, o.Err)
		}
	}
	checkEnd("before restart")

	s.Restart(t)
	if s.Addr() != addr || s.DataDir() != dataDir {
		t.Fatalf("Restart moved the server: %s %s, was %s %s", s.Addr(), s.DataDir(), addr, dataDir)
	}
	if s.Persistent() {
		checkEnd("after Restart")
	}

	s.Kill9(t)
	s.StartAgain(t)
	if s.Persistent() {
		checkEnd("after Kill9+StartAgain")
	}
	if s.LogTail(5) == "" {
		t.Error("LogTail is empty; the server wrote nothing to stdout or stderr")
	}
}

// TestCompatHarnessRequire checks that a missing tool skips outside CI.
func TestCompatHarnessRequire(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("SKIFF_COMPAT_STRICT", "")
	t.Run("missing", func(t *testing.T) {
		defer func() {
			if !t.Skipped() {
				t.Error("Require of a missing tool did not skip")
			}
		}()
		Require(t, "skiff-compat-no-such-tool")
	})
	t.Run("present", func(t *testing.T) {
		Require(t, "go")
	})
}
