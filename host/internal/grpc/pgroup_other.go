//go:build !unix

package grpchost

import "os/exec"

// ownGroup and killGroup are Unix-only (pgroup_unix.go): elsewhere only
// the plugin's own process is ended.
func ownGroup(*exec.Cmd) {}
func killGroup(int)      {}
