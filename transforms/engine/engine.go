package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Defaults of Config and RunnerConfig.
const (
	DefaultMaxModuleSize  = 32 << 20
	DefaultMemoryLimit    = 16 << 20
	DefaultMaxMemoryLimit = 256 << 20
	DefaultBatchTimeout   = 5 * time.Second
	DefaultMaxOutputBytes = 64 << 20
)

const wasmPageSize = 64 << 10

// Config configures an Engine. Zero fields take the defaults above.
type Config struct {
	// CacheDir holds wazero's compilation cache, so a module is compiled
	// once per wazero version and machine, not at every start. Empty keeps
	// the cache in memory only.
	CacheDir string
	// MaxModuleSize bounds the size of a module's binary.
	MaxModuleSize int
	// MemoryLimit is the memory limit of an instance when RunnerConfig does
	// not set one.
	MemoryLimit int64
	// MaxMemoryLimit is the highest memory limit a runner may ask for. It is
	// wazero's memory limit pages for the whole runtime: a module declaring
	// a larger minimum or maximum memory does not load.
	MaxMemoryLimit int64
	// BatchTimeout is the time limit of one batch when RunnerConfig does not
	// set one.
	BatchTimeout time.Duration
	// Logger receives what modules write to stdout (Info) and stderr (Warn).
	// Nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxModuleSize <= 0 {
		c.MaxModuleSize = DefaultMaxModuleSize
	}
	if c.MemoryLimit <= 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.MaxMemoryLimit <= 0 {
		c.MaxMemoryLimit = max(DefaultMaxMemoryLimit, c.MemoryLimit)
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Engine is a node's WebAssembly runtime: one wazero Runtime, its
// compilation cache, the host modules (WASI preview 1 and
// redpanda_transform) and the modules compiled so far, keyed by content
// hash. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	runtime wazero.Runtime
	cache   wazero.CompilationCache

	mu       sync.Mutex
	compiled map[[sha256.Size]byte]*compiled
	closed   bool
}

// compiled is a compiled module shared by every Module with its hash.
type compiled struct {
	hash     [sha256.Size]byte
	mod      wazero.CompiledModule
	minPages uint32
	refs     int
}

// New starts an engine.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if cfg.MemoryLimit > cfg.MaxMemoryLimit {
		return nil, fmt.Errorf("transform engine: memory limit %d is above the maximum %d", cfg.MemoryLimit, cfg.MaxMemoryLimit)
	}
	if cfg.MaxMemoryLimit > 4<<30 {
		return nil, fmt.Errorf("transform engine: maximum memory limit %d is above WebAssembly's 4 GiB", cfg.MaxMemoryLimit)
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("transform engine: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("transform engine: compilation cache in %s: %w", cfg.CacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(uint32(cfg.MaxMemoryLimit / wasmPageSize))
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	e := &Engine{cfg: cfg, runtime: rt, cache: cache, compiled: map[[sha256.Size]byte]*compiled{}}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("transform engine: WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("transform engine: host module: %w", err)
	}
	return e, nil
}

// Close closes every instance and module of the engine and the runtime.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	err := e.runtime.Close(ctx)
	if cerr := e.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// Module is a loaded transform module. Modules with the same bytes share
// one compilation. Close it after the runners made from it.
type Module struct {
	e    *Engine
	name string
	c    *compiled

	mu     sync.Mutex
	closed bool
}

// Load compiles wasm (or finds it compiled, by content hash, in memory or
// in the on-disk cache) and checks that it is a transform: a WASI command
// exporting `_start` and `memory` that imports check_abi_version_1 or
// check_abi_version_2 from redpanda_transform. name tags the module's log
// lines and errors.
func (e *Engine) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	if len(wasm) > e.cfg.MaxModuleSize {
		return nil, fmt.Errorf("load transform %s: %w: %d bytes, the limit is %d", name, ErrModuleTooLarge, len(wasm), e.cfg.MaxModuleSize)
	}
	hash := sha256.Sum256(wasm)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("load transform %s: engine %w", name, ErrClosed)
	}
	if c, ok := e.compiled[hash]; ok {
		c.refs++
		return &Module{e: e, name: name, c: c}, nil
	}
	instrumented, err := e.instrumentCached(hash, wasm)
	if err != nil {
		return nil, fmt.Errorf("load transform %s: %w", name, err)
	}
	cm, err := e.runtime.CompileModule(ctx, instrumented)
	if err != nil {
		return nil, fmt.Errorf("load transform %s: %w", name, err)
	}
	minPages, err := checkABI(cm)
	if err != nil {
		cm.Close(ctx)
		return nil, fmt.Errorf("load transform %s: %w", name, err)
	}
	c := &compiled{hash: hash, mod: cm, minPages: minPages, refs: 1}
	e.compiled[hash] = c
	return &Module{e: e, name: name, c: c}, nil
}

// checkABI checks the imports and exports of a transform module and returns
// its minimum memory in pages.
func checkABI(cm wazero.CompiledModule) (uint32, error) {
	marker := false
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
			// wazero checks each one at instantiation.
		case hostModule:
			want, ok := hostFunctions[name]
			if !ok {
				return 0, fmt.Errorf("%w: it imports %s.%s, which Skiff does not provide", ErrNotTransform, mod, name)
			}
			if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
				return 0, fmt.Errorf("%w: it imports %s.%s with the wrong signature", ErrNotTransform, mod, name)
			}
			marker = marker || name == "check_abi_version_1" || name == "check_abi_version_2"
		default:
			return 0, fmt.Errorf("%w: it imports %s.%s; Skiff provides only %s and %s (the schema registry ABI is not supported)",
				ErrNotTransform, mod, name, hostModule, wasi_snapshot_preview1.ModuleName)
		}
	}
	if !marker {
		return 0, fmt.Errorf("%w: it imports neither %s.check_abi_version_1 nor check_abi_version_2; build it with a transform SDK", ErrNotTransform, hostModule)
	}
	start, ok := cm.ExportedFunctions()["_start"]
	if !ok || len(start.ParamTypes()) != 0 || len(start.ResultTypes()) != 0 {
		return 0, fmt.Errorf("%w: it does not export a WASI command's _start function; build it as a program (package main)", ErrNotTransform)
	}
	mem, ok := cm.ExportedMemories()["memory"]
	if !ok {
		return 0, fmt.Errorf("%w: it does not export its memory", ErrNotTransform)
	}
	return mem.Min(), nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Name returns the name the module was loaded with.
func (m *Module) Name() string { return m.name }

// Hash returns the hex SHA-256 of the module's bytes.
func (m *Module) Hash() string { return hex.EncodeToString(m.c.hash[:]) }

// Close releases the module. The compilation is dropped when the last
// Module sharing it is closed. Runners made from it must be closed first.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	e := m.e
	e.mu.Lock()
	defer e.mu.Unlock()
	m.c.refs--
	if m.c.refs > 0 || e.closed {
		return nil
	}
	delete(e.compiled, m.c.hash)
	return m.c.mod.Close(ctx)
}

// instrumentCached is instrument with its result kept in the cache folder
// by the module's hash: rewriting a Go module of a few MB takes a while, and
// wazero's compilation cache only helps once the rewritten bytes exist.
// A cache file that cannot be read or written is ignored.
func (e *Engine) instrumentCached(hash [sha256.Size]byte, wasm []byte) ([]byte, error) {
	if e.cfg.CacheDir == "" {
		return instrument(wasm)
	}
	path := filepath.Join(e.cfg.CacheDir, "skiff-instrumented-"+instrumentVersion+"-"+hex.EncodeToString(hash[:])+".wasm")
	if b, err := os.ReadFile(path); err == nil {
		return b, nil
	}
	out, err := instrument(wasm)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(e.cfg.CacheDir, ".instrumenting-*")
	if err == nil {
		_, werr := tmp.Write(out)
		if cerr := tmp.Close(); werr == nil && cerr == nil {
			os.Rename(tmp.Name(), path)
		} else {
			os.Remove(tmp.Name())
		}
	}
	return out, nil
}

// instrumentVersion names the instrumentation in cache file names: change
// it when instrument's output changes.
const instrumentVersion = "1"
