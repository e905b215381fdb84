package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/rewind-rl/rewind/host"
	_ "github.com/rewind-rl/rewind/host/process" // process plugin sources
	_ "github.com/rewind-rl/rewind/plugins/all"  // builtin:NAME sources
	"github.com/rewind-rl/rewind/sdk/abi"
)

// sourceKind says where a plugin given on the command line comes from.
type sourceKind string

const (
	sourceWasm    sourceKind = "wasm"
	sourceProcess sourceKind = "process"
	sourceBuiltin sourceKind = "builtin"
)

// pluginSource is a parsed PATH argument.
type pluginSource struct {
	kind    sourceKind
	path    string   // the .wasm file
	builtin string   // the builtin's name
	exe     string   // the process plugin's executable, resolved on PATH
	args    []string // the process plugin's arguments
	// noAutoMTLS turns off go-plugin's automatic mutual TLS, which non-Go
	// plugins (Python) do not implement.
	noAutoMTLS bool
}

// parseSource reads PATH: "builtin:NAME", a file ending in .wasm, or a
// process plugin's command line (executable and arguments, split on
// spaces).
func parseSource(arg string) (pluginSource, error) {
	switch {
	case strings.HasPrefix(arg, "builtin:"):
		return pluginSource{kind: sourceBuiltin, builtin: strings.TrimPrefix(arg, "builtin:")}, nil
	case strings.HasSuffix(arg, ".wasm"):
		if _, err := os.Stat(arg); err != nil {
			return pluginSource{}, fmt.Errorf("wasm module: %w", err)
		}
		return pluginSource{kind: sourceWasm, path: arg}, nil
	}
	fields := strings.Fields(arg)
	if len(fields) == 0 {
		return pluginSource{}, errors.New("empty plugin path")
	}
	exe, err := exec.LookPath(fields[0])
	if err != nil {
		return pluginSource{}, fmt.Errorf("%s is neither a .wasm module, builtin:NAME nor an executable: %w", arg, err)
	}
	return pluginSource{kind: sourceProcess, exe: exe, args: fields[1:]}, nil
}

// The host's defaults (see host.Limits), written out so that inspect can
// show the limits a plugin runs under.
const (
	defaultMemoryMiB      = 128
	defaultTimeout        = time.Second
	defaultProcessTimeout = 10 * time.Second
	defaultMaxOutputKiB   = 1024
)

// loadedPlugin is a plugin loaded through a private host registry.
type loadedPlugin struct {
	reg      *host.Registry
	kind     abi.Kind
	manifest *abi.Manifest
	limits   abi.Limits // what the host was configured with
	sha256   string
	verifier host.Verifier // nil unless kind is verifier
}

func (p *loadedPlugin) Close() error { return p.reg.Close() }

// pluginConfig is the host config that loads src with an instance pool
// of conc, and the limits it sets: those the module's manifest asks for,
// else the host's defaults. A process plugin's checksum is computed here,
// so it is checked but never needs insecure.
func pluginConfig(ctx context.Context, src pluginSource, conc int) (host.PluginConfig, abi.Limits, error) {
	lim := abi.Limits{MemoryMiB: defaultMemoryMiB, TimeoutMillis: int(defaultTimeout.Milliseconds()), MaxOutputKiB: defaultMaxOutputKiB}
	cfg := host.PluginConfig{}
	switch src.kind {
	case sourceBuiltin:
		cfg.Builtin = src.builtin
	case sourceWasm:
		cfg.Wasm = src.path
		var info moduleInfo
		if err := inspectWasm(ctx, src.path, &info); err != nil {
			return cfg, lim, err
		}
		if m := info.Manifest; m != nil && m.Limits != nil {
			if m.Limits.MemoryMiB > 0 {
				lim.MemoryMiB = m.Limits.MemoryMiB
			}
			if m.Limits.TimeoutMillis > 0 {
				lim.TimeoutMillis = m.Limits.TimeoutMillis
			}
			if m.Limits.MaxOutputKiB > 0 {
				lim.MaxOutputKiB = m.Limits.MaxOutputKiB
			}
		}
	case sourceProcess:
		sum, _, err := fileSHA256(src.exe)
		if err != nil {
			return cfg, lim, err
		}
		cfg.Process, cfg.Args, cfg.SHA256, cfg.DisableAutoMTLS = src.exe, src.args, sum, src.noAutoMTLS
		lim.TimeoutMillis = int(defaultProcessTimeout.Milliseconds())
	}
	if src.kind != sourceWasm {
		lim.MemoryMiB = 0 // only Wasm memory is capped
	}
	cfg.Limits = host.Limits{
		MemoryMiB:    lim.MemoryMiB,
		Timeout:      time.Duration(lim.TimeoutMillis) * time.Millisecond,
		MaxOutputKiB: lim.MaxOutputKiB,
		Concurrency:  conc,
	}
	return cfg, lim, nil
}

// loadPlugin loads src through the host, exactly as a run's config would.
func loadPlugin(ctx context.Context, src pluginSource, conc int) (*loadedPlugin, error) {
	cfg, lim, err := pluginConfig(ctx, src, conc)
	if err != nil {
		return nil, err
	}
	reg := host.NewRegistry(host.Options{})
	const name = "plugin"
	if err := reg.Load(ctx, name, cfg); err != nil {
		return nil, err
	}
	p, err := reg.Plugin(name)
	if err != nil {
		_ = reg.Close()
		return nil, err
	}
	lp := &loadedPlugin{reg: reg, kind: p.Kind, limits: lim, sha256: p.SHA256}
	if p.Manifest.Kind != "" || p.Manifest.Name != "" {
		m := p.Manifest
		lp.manifest = &m
	}
	if p.Kind == abi.KindVerifier {
		if lp.verifier, err = reg.Verifier(name); err != nil {
			_ = reg.Close()
			return nil, err
		}
	}
	return lp, nil
}
