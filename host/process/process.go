// Package process enables `process:` plugin sources (gRPC plugins run under
// hashicorp/go-plugin) in a binary that imports it:
//
//	import _ "github.com/rewind-rl/rewind/host/process"
//
// Without it, loading a process plugin fails with "process plugins are not
// available in this binary". The implementation is in host/internal/grpc;
// see docs/process-plugins.md.
package process

import _ "github.com/rewind-rl/rewind/host/internal/grpc" // registers the process loader
