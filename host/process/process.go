// Package process enables `process:` plugin sources (gRPC plugins run under
// hashicorp/go-plugin) in a binary that imports it:
//
//	import _ "github.com/rewind-rl/rewind/host/process"
//
// Without it, loading a process plugin fails with "process plugins are not
// available in this binary". The implementation is in host/internal/grpc;
// see docs/process-plugins.md.
//
// Process plugins run in process groups of their own, which the host kills
// when it closes a plugin, restarts it or finds it dead, so that nothing a
// plugin started outlives it. A plugin outside the program's group does not
// get the terminal's Ctrl-C: a program that may exit without closing its
// plugins calls KillAll first.
package process

import grpchost "github.com/rewind-rl/rewind/host/internal/grpc" // registers the process loader

// KillAll kills every process plugin this program started and has not
// closed, with everything each one started.
func KillAll() { grpchost.KillAll() }
