package builtin

import (
	"bytes"
	_ "embed"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

//go:generate go run ./internal/gen

// bundleZst holds the modules, built by go generate (see
// internal/wasmbuild.Bundle for the format and why zstd).
//
//go:embed wasm/builtin.wasm.zst
var bundleZst []byte

// names are the built-in modules, sorted.
var names = []string{"jolt", "json-filter", "regex-filter"}

// Names returns the names of the built-in modules, sorted. Aliases (see
// Lookup) are not listed.
func Names() []string { return slices.Clone(names) }

// Lookup returns the WebAssembly of the built-in module called name, and
// whether there is one. Besides the names of Names, it knows Fluvio's name
// for jolt, "infinyon/jolt", with or without a version
// ("infinyon/jolt@0.4.1"), so that a transforms.yml written for Fluvio
// works as written.
//
// The modules are decompressed at the first Lookup (about 8.5 MB, some
// tens of milliseconds) and kept; the returned slice is shared and must
// not be modified.
func Lookup(name string) (wasm []byte, ok bool) {
	name = canonical(name)
	if !slices.Contains(names, name) {
		return nil, false
	}
	modules, err := modules()
	if err != nil {
		// The bundle is embedded at build time and checked by the tests.
		panic("builtin: the embedded modules are corrupt: " + err.Error())
	}
	wasm, ok = modules[name]
	return wasm, ok
}

// Kind returns the kind of the built-in module name (or alias), as the
// SDK's describe probe names it, or "" when there is no such module.
func Kind(name string) string {
	switch canonical(name) {
	case "jolt":
		return "map"
	case "json-filter", "regex-filter":
		return "filter"
	}
	return ""
}

// canonical resolves the aliases of the built-in modules.
func canonical(name string) string {
	if base, _, _ := strings.Cut(name, "@"); base == "infinyon/jolt" {
		return "jolt"
	}
	return name
}

var modules = sync.OnceValues(func() (map[string][]byte, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(bundleZst, nil)
	if err != nil {
		return nil, err
	}
	return unbundle(raw)
})

const bundleHeader = "skiff builtin modules v1\n"

// unbundle splits what internal/wasmbuild.Bundle wrote.
func unbundle(raw []byte) (map[string][]byte, error) {
	rest, ok := bytes.CutPrefix(raw, []byte(bundleHeader))
	if !ok {
		return nil, errors.New("no bundle header")
	}
	type entry struct {
		name string
		size int
	}
	var entries []entry
	for {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return nil, errors.New("bundle header does not end")
		}
		rest = after
		if len(line) == 0 {
			break
		}
		name, size, _ := strings.Cut(string(line), " ")
		n, err := strconv.Atoi(size)
		if err != nil || n < 0 {
			return nil, errors.New("bad bundle line " + strconv.Quote(string(line)))
		}
		entries = append(entries, entry{name, n})
	}
	mods := make(map[string][]byte, len(entries))
	for _, e := range entries {
		if e.size > len(rest) {
			return nil, errors.New("bundle ends inside module " + e.name)
		}
		mods[e.name], rest = rest[:e.size:e.size], rest[e.size:]
	}
	if len(rest) != 0 {
		return nil, errors.New("bundle has " + strconv.Itoa(len(rest)) + " bytes after its modules")
	}
	return mods, nil
}
