package compat_test

import (
	"path/filepath"
	"testing"
)

// TestCompatPython runs confluent-kafka for Python, librdkafka in its bundled wheel (see
// python/requirements.txt), from the venv python/.venv: idempotent producers in every codec
// (none, gzip, snappy, lz4, zstd) and a plain one, then an assign-mode consumer from the
// beginning, before and after a broker restart. See runExternalClient in java_test.go.
func TestCompatPython(t *testing.T) {
	python := needBuilt(t, filepath.Join("python", ".venv", "bin", "python"))
	runExternalClient(t, "python", []string{python, needBuilt(t, filepath.Join("python", "client.py"))})
}
