package compat_test

import (
	"path/filepath"
	"testing"

	"github.com/skiffstream/skiff/compat-tests/harness"
)

// TestCompatKcat runs kcat (Debian's package, librdkafka inside) through kcat/kcat.sh:
// kcat -P with -K: keys, -H headers and -z in every codec (none, gzip, snappy, lz4, zstd),
// idempotent and plain, then kcat -C -e from the beginning, before and after a broker
// restart. See runExternalClient in java_test.go.
func TestCompatKcat(t *testing.T) {
	harness.Require(t, "kcat")
	harness.Require(t, "bash")
	runExternalClient(t, "kcat", []string{"bash", needBuilt(t, filepath.Join("kcat", "kcat.sh"))})
}
