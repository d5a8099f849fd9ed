package sdk

import (
	"os"
	"os/exec"
	"testing"
)

// describeKindEnv makes the test binary, run again by
// TestTransformsSDKDescribe, call the kind it names instead of running
// tests. The describe probe answers before any host function is called, so
// it runs natively too.
const describeKindEnv = "SKIFF_SDK_TEST_DESCRIBE_KIND"

func TestMain(m *testing.M) {
	if kind := os.Getenv(describeKindEnv); kind != "" {
		callKind(kind)
		// Not reached under a probe: the kind exits.
		os.Stderr.WriteString("the kind returned\n")
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func callKind(kind string) {
	switch kind {
	case "filter":
		Filter(func(Record) (bool, error) { panic("called") })
	case "map":
		Map(func(Record) (Record, error) { panic("called") })
	case "filter-map":
		FilterMap(func(Record) (Record, bool, error) { panic("called") })
	case "array-map":
		ArrayMap(func(Record) ([]Record, error) { panic("called") })
	case "aggregate":
		Aggregate(nil, func([]byte, Record) ([]byte, error) { panic("called") })
	case "process":
		Process(func(Record, *Writer) error { panic("called") })
	}
}

// TestTransformsSDKDescribe runs each kind in a process of its own under a
// describe probe and checks the whole of its stdout and its exit code: the
// host side (transforms/chain) parses exactly this line.
func TestTransformsSDKDescribe(t *testing.T) {
	for _, kind := range []string{"filter", "map", "filter-map", "array-map", "aggregate", "process"} {
		t.Run(kind, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), describeKindEnv+"="+kind, DescribeEnv+"=1")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("probe of %s: %v (stdout %q)", kind, err, out)
			}
			if want := `{"skiff_sdk_kind":"` + kind + `"}` + "\n"; string(out) != want {
				t.Fatalf("probe of %s printed %q, want %q", kind, out, want)
			}
		})
	}

	// Without the probe a kind goes on to the ABI, which exists only in
	// WebAssembly: the stub panics, so the process fails.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), describeKindEnv+"=filter", DescribeEnv+"=0")
	if out, err := cmd.Output(); err == nil || len(out) != 0 {
		t.Fatalf("filter without the probe: %v, stdout %q", err, out)
	}
}
