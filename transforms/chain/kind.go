package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/skiffstream/skiff/transforms/engine"
)

// Kind is what a module does with each record, as its SDK reports it.
type Kind string

// The kinds of Skiff's SDK (transforms/sdk). KindUnknown is a module that
// does not say: one built with Redpanda's SDK, or with an SDK from before
// the probe.
const (
	KindFilter    Kind = "filter"     // keeps or drops each record
	KindMap       Kind = "map"        // one record out per record in
	KindFilterMap Kind = "filter-map" // zero or one out
	KindArrayMap  Kind = "array-map"  // zero or more out
	KindAggregate Kind = "aggregate"  // one out, carrying state across records
	KindProcess   Kind = "process"    // anything: any number out, any topic
	KindUnknown   Kind = ""
)

// MaxOutputsPerInput returns the most records the kind writes for one
// input record, or -1 when it has no bound.
func (k Kind) MaxOutputsPerInput() int {
	switch k {
	case KindFilter, KindMap, KindFilterMap, KindAggregate:
		return 1
	default:
		return -1
	}
}

// Stateless reports whether the kind keeps nothing from one record to the
// next, so that several instances may run batches side by side. A general
// process module and an unknown one may keep state, as an aggregate does.
func (k Kind) Stateless() bool {
	switch k {
	case KindFilter, KindMap, KindFilterMap, KindArrayMap:
		return true
	default:
		return false
	}
}

func (k Kind) String() string {
	if k == KindUnknown {
		return "unknown"
	}
	return string(k)
}

// describeEnv is the environment variable that asks an SDK module for its
// kind instead of processing records.
const describeEnv = "SKIFF_SDK_DESCRIBE"

// kinds caches probe answers by module hash: the kind is a property of the
// code, so a module is probed once per process.
var kinds sync.Map // hex SHA-256 → Kind

// Describe learns the kind of a module by running it once with
// SKIFF_SDK_DESCRIBE=1: a module built with Skiff's SDK prints
// {"skiff_sdk_kind":"filter"} on a line of its stdout and exits; any other
// transform asks for its first batch instead, and is KindUnknown. A module
// whose start needs parameters (regex-filter needs `regex`) fails without
// them: use DescribeParams.
func Describe(ctx context.Context, eng *engine.Engine, name string, wasm []byte) (Kind, error) {
	return DescribeParams(ctx, eng, name, wasm, nil)
}

// DescribeParams is Describe with the parameters the module starts with.
func DescribeParams(ctx context.Context, eng *engine.Engine, name string, wasm []byte, params map[string]string) (Kind, error) {
	m, err := eng.Load(ctx, name, wasm)
	if err != nil {
		return KindUnknown, err
	}
	defer m.Close(ctx)
	return describe(ctx, m, engine.RunnerConfig{Env: params, OutputTopics: []string{"describe"}})
}

// describe probes m (or finds its kind cached) with cfg's parameters,
// topics and limits.
func describe(ctx context.Context, m *engine.Module, cfg engine.RunnerConfig) (Kind, error) {
	if k, ok := kinds.Load(m.Hash()); ok {
		return k.(Kind), nil
	}
	env := make(map[string]string, len(cfg.Env)+1)
	for k, v := range cfg.Env {
		env[k] = v
	}
	env[describeEnv] = "1"
	cfg.Env = env
	res, err := m.RunOnce(ctx, cfg)
	if err != nil {
		return KindUnknown, fmt.Errorf("learn the kind of module %s: %w", m.Name(), err)
	}
	kind, found := kindLine(res.Stdout)
	if !found && !res.AskedForBatch {
		return KindUnknown, fmt.Errorf("learn the kind of module %s: it exited at start without naming its kind and without asking for records; is it a transform built with a transform SDK?", m.Name())
	}
	kinds.Store(m.Hash(), kind)
	return kind, nil
}

// kindLine finds the SDK's answer among stdout lines. A kind this version
// of Skiff does not know is KindUnknown: the module is run with no
// assumption about its outputs, as a Redpanda module is.
func kindLine(lines []string) (Kind, bool) {
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `{"skiff_sdk_kind"`) {
			continue
		}
		var v struct {
			Kind string `json:"skiff_sdk_kind"`
		}
		if json.Unmarshal([]byte(line), &v) != nil {
			continue
		}
		switch k := Kind(v.Kind); k {
		case KindFilter, KindMap, KindFilterMap, KindArrayMap, KindAggregate, KindProcess:
			return k, true
		}
		return KindUnknown, true
	}
	return KindUnknown, false
}
