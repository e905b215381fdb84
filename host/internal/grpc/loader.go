package grpchost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// init installs this package as the host's loader of `process:` plugins.
// Binaries link it through package host/process.
func init() { host.RegisterProcessLoader(loadProcess) }

// loadProcess is the host.ProcessLoader: it maps a plugin's config section
// to a Config and loads it. The kind comes from the plugin's manifest, and
// so do the limits it asks for, resolved by the host (src.ResolveLimits).
// Limits.MemoryMiB and Concurrency do not apply to a process (the OS owns
// its memory; gRPC serves concurrent calls on one connection).
func loadProcess(ctx context.Context, name string, src host.ProcessSource, lim host.Limits) (any, io.Closer, error) {
	cfg := Config{
		Name:           name,
		Command:        append([]string{src.Command}, src.Args...),
		SHA256:         src.SHA256,
		Insecure:       src.Insecure,
		DisableMTLS:    src.DisableAutoMTLS,
		Timeout:        lim.Timeout,
		MaxOutputBytes: lim.MaxOutputKiB << 10,
	}
	if src.ResolveLimits != nil {
		cfg.Limits = func(asked *abi.Limits) (time.Duration, int, error) {
			l, err := src.ResolveLimits(asked)
			return l.Timeout, l.MaxOutputKiB << 10, err
		}
	}
	if len(src.Options) > 0 {
		b, err := json.Marshal(src.Options)
		if err != nil {
			return nil, nil, fmt.Errorf("options: %w", err)
		}
		cfg.Options = b
	}
	p, err := Load(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return p, p, nil
}

var _ host.ProcessLoader = loadProcess
