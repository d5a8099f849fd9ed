package raftlog

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRaftlogControllerModules(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Store, *Controller) {
		s := openTestStore(t, nil, dir)
		c, err := OpenController(s, GroupOptions{NodeID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WaitLeader(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		return s, c
	}
	s, c := open()
	wasm := bytes.Repeat([]byte("\x00asm-module-bytes"), 100_000) // 1.7 MB
	if err := c.PutModule(ModuleMeta{Name: "f", SHA256: "x", Size: len(wasm), Kind: "filter"}, wasm, false); err != nil {
		t.Fatal(err)
	}
	if err := c.PutModule(ModuleMeta{Name: "f"}, wasm, false); !errors.Is(err, ErrModuleExists) {
		t.Fatalf("second create: %v, want ErrModuleExists", err)
	}
	if err := c.PutTransform(TransformMeta{Name: "t1", Input: "a", Outputs: []string{"b"}, Spec: "transforms:\n  - uses: f\n", Policy: "fail"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutTransform(TransformMeta{Name: "t1"}); !errors.Is(err, ErrTransformExists) {
		t.Fatalf("second deploy: %v", err)
	}
	if err := c.DeleteModule("f"); !errors.Is(err, ErrModuleInUse) {
		t.Fatalf("delete used module: %v, want ErrModuleInUse", err)
	}
	if err := c.PauseTransform("t1", true); err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.Close()

	s, c = open()
	defer s.Close()
	defer c.Close()
	meta, got, err := c.Module("f")
	if err != nil || !bytes.Equal(got, wasm) || meta.Kind != "filter" || meta.CreatedAt.IsZero() {
		t.Fatalf("after restart: %+v, %d bytes, %v", meta, len(got), err)
	}
	tr := c.Meta().Transforms["t1"]
	if tr == nil || !tr.Paused || tr.Outputs[0] != "b" {
		t.Fatalf("transform after restart: %+v", tr)
	}
	if err := c.DeleteTransform("t1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteModule("f"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Module("f"); !errors.Is(err, ErrModuleNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, ok, _ := s.get(groupKeyName(ControllerGroup, kindModule, "f")); ok {
		t.Fatal("module bytes left in the store after delete")
	}
}

func TestRaftlogUsesValue(t *testing.T) {
	for line, want := range map[string]string{
		"  - uses: f":                     "f",
		"- uses: \"infinyon/jolt@0.4.1\"": "infinyon/jolt@0.4.1",
		"uses: 'x' ":                      "x",
		"  with:":                         "",
		"    usesx: y":                    "",
	} {
		got, _ := usesValue(line)
		if got != want {
			t.Errorf("usesValue(%q) = %q, want %q", line, got, want)
		}
	}
}
