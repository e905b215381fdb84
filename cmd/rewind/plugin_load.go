package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rewind-rl/rewind/host"
	_ "github.com/rewind-rl/rewind/host/process" // process plugin sources
	"github.com/rewind-rl/rewind/internal/filehash"
	_ "github.com/rewind-rl/rewind/plugins/all" // builtin:NAME sources
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
	// options are the plugin's options (--option KEY=VALUE).
	options map[string]any
}

// parseOptions reads --option KEY=VALUE flags into a plugin's options;
// VALUE is a YAML value, as it would be in a run's config file.
func parseOptions(flags []string) (map[string]any, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	opts := map[string]any{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--option %q: want KEY=VALUE, e.g. --option threshold=0.5", f)
		}
		if _, dup := opts[k]; dup {
			return nil, fmt.Errorf("--option %s is given twice", k)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--option %s: value %q is not a YAML value: %w", k, v, err)
		}
		opts[k] = val
	}
	return opts, nil
}

// resolvePlugin is how "plugin test" and friends find a plugin that a
// composite built-in names in its options (prm's reward_model): a .wasm
// file or builtin:NAME as on the command line, else the builtin of that
// name, as in a run without a plugins entry for it.
func resolvePlugin(name string) (host.PluginConfig, error) {
	if strings.HasPrefix(name, "builtin:") || strings.HasSuffix(name, ".wasm") {
		src, err := parseSource(name)
		if err != nil {
			return host.PluginConfig{}, err
		}
		return pluginConfig(src, 1)
	}
	return host.PluginConfig{Builtin: name}, nil
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

// loadedPlugin is a plugin loaded through a private host registry.
type loadedPlugin struct {
	reg       *host.Registry
	kind      abi.Kind
	manifest  *abi.Manifest
	limits    host.Limits // what the host applies (host.ResolveLimits)
	sha256    string
	verifier  host.Verifier  // nil unless kind is verifier
	localizer host.Localizer // nil unless kind is localizer
}

func (p *loadedPlugin) Close() error { return p.reg.Close() }

// pluginConfig is the host config that loads src with an instance pool
// of conc and no limits of its own, so the plugin runs under what its
// manifest asks for and the host's defaults (host.ResolveLimits). A
// process plugin's checksum is computed here, so it is checked but never
// needs insecure.
func pluginConfig(src pluginSource, conc int) (host.PluginConfig, error) {
	cfg := host.PluginConfig{Limits: host.Limits{Concurrency: conc}, Options: src.options}
	switch src.kind {
	case sourceBuiltin:
		cfg.Builtin = src.builtin
	case sourceWasm:
		cfg.Wasm = src.path
	case sourceProcess:
		sum, _, err := filehash.SHA256(src.exe)
		if err != nil {
			return cfg, err
		}
		cfg.Process, cfg.Args, cfg.SHA256, cfg.DisableAutoMTLS = src.exe, src.args, sum, src.noAutoMTLS
	}
	return cfg, nil
}

// abiLimits is how inspect shows host limits.
func abiLimits(l host.Limits) abi.Limits {
	return abi.Limits{MemoryMiB: l.MemoryMiB, TimeoutMillis: int(l.Timeout.Milliseconds()), MaxOutputKiB: l.MaxOutputKiB}
}

// loadPlugin loads src through the host, exactly as a run's config would.
func loadPlugin(ctx context.Context, src pluginSource, conc int) (*loadedPlugin, error) {
	cfg, err := pluginConfig(src, conc)
	if err != nil {
		return nil, err
	}
	reg := host.NewRegistry(host.Options{Resolve: resolvePlugin})
	const name = "plugin"
	if err := reg.Load(ctx, name, cfg); err != nil {
		if strings.Contains(err.Error(), "option ") {
			err = fmt.Errorf("%w (set a plugin's options with --option KEY=VALUE)", err)
		}
		return nil, err
	}
	p, err := reg.Plugin(name)
	if err != nil {
		_ = reg.Close()
		return nil, err
	}
	lp := &loadedPlugin{reg: reg, kind: p.Kind, limits: p.Limits, sha256: p.SHA256}
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
	if p.Kind == abi.KindLocalizer {
		if lp.localizer, err = reg.Localizer(name); err != nil {
			_ = reg.Close()
			return nil, err
		}
	}
	return lp, nil
}
