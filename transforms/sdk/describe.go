package sdk

import "os"

// A describe probe lets a host learn a module's kind without giving it a
// batch: it runs the module once with DescribeEnv=1, and the kind's entry
// point prints one line, {"skiff_sdk_kind":"<kind>"}, to stdout and exits 0
// before reading any batch. Hosts use it to refuse, for example, an
// array-map in a read-time view, where one input record must give at most
// one output. A module not built with this SDK prints no such line, so its
// kind is unknown.
//
// The probe runs the module's init step (the code in main before the kind)
// first, with whatever parameters the host passes, so an init step that
// fails on missing parameters makes the probe fail too.
const DescribeEnv = "SKIFF_SDK_DESCRIBE"

// The kinds, as the describe probe names them.
const (
	kindFilter    = "filter"
	kindMap       = "map"
	kindFilterMap = "filter-map"
	kindArrayMap  = "array-map"
	kindAggregate = "aggregate"
	kindProcess   = "process"
)

// describe answers a describe probe for kind, if this run is one, and
// exits.
func describe(kind string) {
	if os.Getenv(DescribeEnv) != "1" {
		return
	}
	os.Stdout.WriteString(describeLine(kind))
	os.Exit(0)
}

func describeLine(kind string) string {
	return `{"skiff_sdk_kind":"` + kind + `"}` + "\n"
}
