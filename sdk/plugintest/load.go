package plugintest

import (
	"context"
	"testing"

	"github.com/rewind-rl/rewind/host"
)

// Plugin is a plugin loaded for one test into a registry of its own; it is
// closed when the test ends.
type Plugin struct {
	t    testing.TB
	reg  *host.Registry
	name string
}

// Load loads cfg (any source: builtin, wasm or process) as the plugin
// "plugintest" of a fresh registry, failing the test if it does not load.
// Zero limits take the host's defaults.
func Load(t testing.TB, cfg host.PluginConfig) *Plugin {
	t.Helper()
	return LoadWith(t, host.Options{}, cfg)
}

// LoadWith is Load with registry options (a compilation cache directory, a
// seed, a generator for the "generate" capability).
func LoadWith(t testing.TB, opts host.Options, cfg host.PluginConfig) *Plugin {
	t.Helper()
	reg := host.NewRegistry(opts)
	const name = "plugintest"
	if err := reg.Load(context.Background(), name, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return &Plugin{t: t, reg: reg, name: name}
}

// LoadWasm loads the Wasm module at path with options passed to its
// rewind_init (nil for none).
func LoadWasm(t testing.TB, path string, options map[string]any) *Plugin {
	t.Helper()
	return Load(t, host.PluginConfig{Wasm: path, Options: options})
}

// Registry returns the plugin's registry, e.g. to read its Counters.
func (p *Plugin) Registry() *host.Registry { return p.reg }

// Info returns what the host knows of the plugin: kind, sha256, manifest.
func (p *Plugin) Info() *host.Plugin {
	p.t.Helper()
	return must(p, p.reg.Plugin)
}

// Verifier returns the plugin as a host.Verifier, failing the test when it
// is another kind.
func (p *Plugin) Verifier() host.Verifier {
	p.t.Helper()
	return must(p, p.reg.Verifier)
}

// RewardModel returns the plugin as a host.RewardModel.
func (p *Plugin) RewardModel() host.RewardModel {
	p.t.Helper()
	return must(p, p.reg.RewardModel)
}

// Segmenter returns the plugin as a host.Segmenter.
func (p *Plugin) Segmenter() host.Segmenter {
	p.t.Helper()
	return must(p, p.reg.Segmenter)
}

// Localizer returns the plugin as a host.Localizer.
func (p *Plugin) Localizer() host.Localizer {
	p.t.Helper()
	return must(p, p.reg.Localizer)
}

// must looks the plugin up with get, failing the test on an error.
func must[T any](p *Plugin, get func(name string) (T, error)) T {
	p.t.Helper()
	v, err := get(p.name)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}
