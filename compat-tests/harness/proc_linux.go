package harness

import "syscall"

// sysProcAttr makes the kernel SIGKILL the server if the test process dies
// without running its cleanups (a panic, a -timeout, ^C), so no broker
// outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
