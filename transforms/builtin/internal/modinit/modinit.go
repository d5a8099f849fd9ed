// Package modinit holds what the built-in modules share in their init step:
// reading parameters strictly and failing the deployment with a message
// that says what to fix.
package modinit

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/skiffstream/skiff/transforms/sdk"
)

// Check returns the module's parameters, or an error naming the first
// one the module does not take, so that a misspelt parameter fails the
// deployment rather than being ignored.
func Check(known ...string) (map[string]string, error) {
	params := sdk.Params()
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) && !strings.HasPrefix(name, "SKIFF_") {
			return nil, errors.New("unknown parameter " + strconv.Quote(name) + ": the parameters are " + strings.Join(known, ", "))
		}
	}
	return params, nil
}

// Bool reads the boolean parameter name: true or false, def when unset.
func Bool(params map[string]string, name string, def bool) (bool, error) {
	s, ok := params[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("parameter " + name + " is " + strconv.Quote(s) + ": use true or false")
}

// Fail ends a failed init step: it prints "module: err" to stderr and
// exits with code 1, which the engine reports as the deployment's error.
// Under a describe probe (sdk.DescribeEnv), which runs a module to learn
// its kind, perhaps without parameters, it returns: the module then calls
// its kind, which answers the probe without using what failed.
func Fail(module string, err error) {
	if os.Getenv(sdk.DescribeEnv) == "1" {
		return
	}
	os.Stderr.WriteString(module + ": " + err.Error() + "\n")
	os.Exit(1)
}
