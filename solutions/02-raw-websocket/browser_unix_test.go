//go:build unix

package rawws

import (
	"os/exec"
	"syscall"
)

// startBrowser puts the browser in a process group of its own, and makes
// the command's context kill that whole group: Chromium starts helper
// processes that must not outlive the test.
func startBrowser(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
