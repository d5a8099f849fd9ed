package raftlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// kindModule keys hold the bytes of stored SmartModules, in the controller
// group: 0 | 'w' | name. The module's metadata lives in ClusterMeta, which
// is rewritten whole on every controller change, so the (large) bytes are
// kept apart from it.
const kindModule = 'w'

// ModuleMeta describes a SmartModule stored in the cluster.
type ModuleMeta struct {
	Name      string
	SHA256    string // hex of the module's bytes
	Size      int
	Kind      string // what the module's probe answered ("" = not a Skiff SDK module)
	CreatedAt time.Time
	// Builtin marks a module shipped in the binary, in listings (never
	// stored).
	Builtin bool `json:",omitempty"`
}

// TransformMeta is a topic-to-topic deployment of a SmartModule chain.
type TransformMeta struct {
	Name    string
	Input   string
	Outputs []string
	// Spec is the transforms.yml of the deployment: one step for
	// `--module M`, or the file given with `--transforms-file`.
	Spec string
	// Env holds the --var parameters, each an environment variable of
	// every module of the chain.
	Env map[string]string `json:",omitempty"`
	// FromOffset is where a partition without committed progress starts:
	// "earliest", "latest" or "@<unix millis>".
	FromOffset string
	// Policy is the error policy: fail, skip or dead-letter:TOPIC.
	Policy    string
	Paused    bool
	CreatedAt time.Time
}

func (t *TransformMeta) clone() *TransformMeta {
	c := *t
	c.Outputs = append([]string(nil), t.Outputs...)
	c.Env = maps.Clone(t.Env)
	return &c
}

// Errors of the SmartModule metadata.
var (
	ErrModuleExists      = errors.New("a SmartModule with this name exists")
	ErrModuleNotFound    = errors.New("no SmartModule with this name")
	ErrTransformExists   = errors.New("a transform with this name exists")
	ErrTransformNotFound = errors.New("no transform with this name")
	ErrModuleInUse       = errors.New("the SmartModule is used by a transform")
)

// PutModule stores a SmartModule's bytes and metadata. With replace, an
// existing module of that name is replaced (running deployments pick the new
// bytes up when they restart).
func (c *Controller) PutModule(meta ModuleMeta, wasm []byte, replace bool) error {
	if c.raft.State() != raft.Leader {
		return c.apply(ctrlCmd{}).err
	}
	cmd := ctrlCmd{Op: "put-module", Module: &meta, Replace: replace, Now: time.Now()}
	data, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	// The bytes travel in the entry's Extensions, not in the JSON command.
	f := c.raft.ApplyLog(raft.Log{Data: data, Extensions: wasm}, 30*time.Second)
	if err := f.Error(); err != nil {
		return raftErr(err)
	}
	r, _ := f.Response().(ctrlResult)
	return r.err
}

// ModulesGen changes whenever a stored SmartModule is stored, replaced or
// deleted (counted since this node started); it is one atomic load.
func (c *Controller) ModulesGen() uint64 { return c.fsm.modulesGen.Load() }

// DeleteModule removes a stored SmartModule that no transform uses.
func (c *Controller) DeleteModule(name string) error {
	return c.apply(ctrlCmd{Op: "delete-module", Name: name}).err
}

// Module returns a stored SmartModule's metadata and bytes.
func (c *Controller) Module(name string) (ModuleMeta, []byte, error) {
	c.fsm.mu.Lock()
	m, ok := c.fsm.state.Modules[name]
	var meta ModuleMeta
	if ok {
		meta = *m
	}
	c.fsm.mu.Unlock()
	if !ok {
		return ModuleMeta{}, nil, fmt.Errorf("SmartModule %q: %w", name, ErrModuleNotFound)
	}
	wasm, found, err := (&Store{db: c.fsm.db}).get(groupKeyName(ControllerGroup, kindModule, name))
	if err != nil {
		return ModuleMeta{}, nil, err
	}
	if !found {
		return ModuleMeta{}, nil, fmt.Errorf("SmartModule %q: bytes missing from the store", name)
	}
	return meta, wasm, nil
}

// PutTransform creates a topic-to-topic deployment.
func (c *Controller) PutTransform(t TransformMeta) error {
	return c.apply(ctrlCmd{Op: "put-transform", Transform: &t}).err
}

// DeleteTransform removes a deployment.
func (c *Controller) DeleteTransform(name string) error {
	return c.apply(ctrlCmd{Op: "delete-transform", Name: name}).err
}

// PauseTransform pauses or resumes a deployment.
func (c *Controller) PauseTransform(name string, paused bool) error {
	return c.apply(ctrlCmd{Op: "pause-transform", Name: name, Paused: paused}).err
}

// applyModuleCmd applies the SmartModule commands; f.mu is held. The bytes
// of put-module are in l.Extensions, which applyCmd does not see, so Apply
// passes them through pendingWasm.
func (f *controllerFSM) applyModuleCmd(cmd ctrlCmd) ctrlResult {
	s := &f.state
	if s.Modules == nil {
		s.Modules = map[string]*ModuleMeta{}
	}
	if s.Transforms == nil {
		s.Transforms = map[string]*TransformMeta{}
	}
	switch cmd.Op {
	case "put-module":
		m := cmd.Module
		if m == nil || m.Name == "" {
			return ctrlResult{err: errors.New("put-module without a module")}
		}
		if _, ok := s.Modules[m.Name]; ok && !cmd.Replace {
			return ctrlResult{err: fmt.Errorf("SmartModule %q: %w", m.Name, ErrModuleExists)}
		}
		if f.pendingWasm == nil {
			return ctrlResult{err: errors.New("put-module without bytes")}
		}
		m.CreatedAt = cmd.Now
		f.pendingBatch.Set(groupKeyName(ControllerGroup, kindModule, m.Name), f.pendingWasm, nil)
		s.Modules[m.Name] = m
		f.modulesGen.Add(1)
	case "delete-module":
		if _, ok := s.Modules[cmd.Name]; !ok {
			return ctrlResult{err: fmt.Errorf("SmartModule %q: %w", cmd.Name, ErrModuleNotFound)}
		}
		for _, t := range s.Transforms {
			if moduleUsedBy(t.Spec, cmd.Name) {
				return ctrlResult{err: fmt.Errorf("SmartModule %q: %w %q; delete it first", cmd.Name, ErrModuleInUse, t.Name)}
			}
		}
		f.pendingBatch.Delete(groupKeyName(ControllerGroup, kindModule, cmd.Name), nil)
		delete(s.Modules, cmd.Name)
		f.modulesGen.Add(1)
	case "put-transform":
		t := cmd.Transform
		if t == nil || t.Name == "" {
			return ctrlResult{err: errors.New("put-transform without a transform")}
		}
		if _, ok := s.Transforms[t.Name]; ok {
			return ctrlResult{err: fmt.Errorf("transform %q: %w", t.Name, ErrTransformExists)}
		}
		t.CreatedAt = cmd.Now
		s.Transforms[t.Name] = t
	case "delete-transform", "pause-transform":
		t, ok := s.Transforms[cmd.Name]
		if !ok {
			return ctrlResult{err: fmt.Errorf("transform %q: %w", cmd.Name, ErrTransformNotFound)}
		}
		if cmd.Op == "delete-transform" {
			delete(s.Transforms, cmd.Name)
		} else {
			t.Paused = cmd.Paused
		}
	}
	return ctrlResult{}
}

// moduleUsedBy reports whether a deployment's transforms.yml names the
// module. The controller does not parse YAML; a `uses:` line naming the
// module exactly is what the broker writes and what users write.
func moduleUsedBy(spec, name string) bool {
	for line := range strings.Lines(spec) {
		if v, ok := usesValue(line); ok && v == name {
			return true
		}
	}
	return false
}

// usesValue reads NAME from a line `  - uses: NAME` or `uses: "NAME"`.
func usesValue(line string) (string, bool) {
	v, ok := strings.CutPrefix(strings.TrimLeft(line, " \t-"), "uses:")
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return v, v != ""
}
