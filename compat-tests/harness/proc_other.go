//go:build !linux

package harness

import "syscall"

// sysProcAttr has no parent-death signal off Linux: a test process that dies
// without cleanups can leave its server running.
func sysProcAttr() *syscall.SysProcAttr { return nil }
