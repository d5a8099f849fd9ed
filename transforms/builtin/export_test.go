package builtin

import "github.com/skiffstream/skiff/transforms/builtin/funcs"

// NewNativeOf makes a Native of a given module, for tests of what
// NewNative's modules cannot do (panic).
func NewNativeOf(name string, m func() funcs.Module) *Native {
	first := m()
	return &Native{name: name, kind: first.Kind, free: []funcs.Module{first},
		newModule: func() (funcs.Module, error) { return m(), nil }}
}
