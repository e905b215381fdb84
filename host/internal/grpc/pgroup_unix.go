//go:build unix

package grpchost

import (
	"os/exec"
	"syscall"
)

// ownGroup makes cmd start in a process group of its own, whose id is its
// pid: everything the plugin starts (a shell script's children, worker
// pools) stays in that group unless it leaves on purpose, so the host can
// end it all with killGroup. A plugin outside the CLI's group no longer
// receives the terminal's Ctrl-C: the CLI catches it and closes its
// plugins (cmd/rewind/main.go).
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killGroup sends SIGKILL to the process group pgid. The group is gone
// (ESRCH) once every member has exited, which is not an error.
func killGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
