package run

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/rollout"
)

// decodePlugin decodes one plugins.NAME section strictly with the host's
// decoder (unknown keys are errors).
func decodePlugin(name string, m map[string]any) (host.PluginConfig, error) {
	if strings.Contains(name, ".") {
		return host.PluginConfig{}, fmt.Errorf("plugin name %q: must not contain '.'", name)
	}
	return host.DecodePluginConfig(m, "plugins."+name)
}

// validatePlugin checks one plugin section without loading it.
func validatePlugin(name string, m map[string]any) error {
	c, err := decodePlugin(name, m)
	if err != nil {
		return err
	}
	return c.Validate()
}

// pluginConfig returns the config of the plugin a config key names: its
// plugins entry, or the builtin of that name.
func pluginConfig(cfg Config, name string) (host.PluginConfig, error) {
	if m, ok := cfg.Plugins[name]; ok {
		return decodePlugin(name, m)
	}
	return host.PluginConfig{Builtin: name}, nil
}

// pluginSet holds the loaded plugins of a run.
type pluginSet struct {
	reg          *host.Registry
	verifier     host.Verifier
	onFailure    algo.FailPolicy
	rewardModels []rollout.RewardModel
	segmenter    host.Segmenter
	localizer    host.Localizer
}

// loadPlugins loads every plugin the config uses: reward.verifier, the
// reward models, sampling.segmenter in whole mode and a localizer plugin.
// On error it has closed what it loaded and returns a nil set.
func loadPlugins(ctx context.Context, cfg Config) (*pluginSet, error) {
	opts := host.Options{Seed: cfg.Run.Seed}
	if dir, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = filepath.Join(dir, "rewind", "wasm")
	}
	// A composite built-in (the prm localizer) loads the plugins it names
	// from this run's plugins section, or the builtin of that name.
	opts.Resolve = func(name string) (host.PluginConfig, error) { return pluginConfig(cfg, name) }
	ps := &pluginSet{reg: host.NewRegistry(opts)}
	if err := ps.load(ctx, cfg); err != nil {
		return nil, errors.Join(err, ps.close())
	}
	return ps, nil
}

func (ps *pluginSet) load(ctx context.Context, cfg Config) (err error) {
	load := func(key, name string) (host.PluginConfig, error) {
		pc, err := pluginConfig(cfg, name)
		if err != nil {
			return pc, fmt.Errorf("%s: %w", key, err)
		}
		if err := ps.reg.Load(ctx, name, pc); err != nil {
			return pc, fmt.Errorf("%s%s: %w", key, pluginSource(pc), err)
		}
		return pc, nil
	}

	vc, err := load("reward.verifier", cfg.Reward.Verifier)
	if err != nil {
		return err
	}
	if ps.verifier, err = ps.reg.Verifier(cfg.Reward.Verifier); err != nil {
		return fmt.Errorf("reward.verifier: %w", err)
	}
	ps.onFailure = algo.FailPolicy(vc.OnFailure.EffectiveAction())
	names := slices.Sorted(maps.Keys(cfg.Reward.Models))
	for _, n := range names {
		if _, err := load("reward.models."+n, n); err != nil {
			return err
		}
		rm, err := ps.reg.RewardModel(n)
		if err != nil {
			return fmt.Errorf("reward.models.%s: %w", n, err)
		}
		ps.rewardModels = append(ps.rewardModels, rollout.RewardModel{Name: n, Weight: cfg.Reward.Models[n], Model: rm})
	}
	if cfg.Sampling.Mode == "whole" {
		if _, err := load("sampling.segmenter", cfg.Sampling.Segmenter); err != nil {
			return err
		}
		if ps.segmenter, err = ps.reg.Segmenter(cfg.Sampling.Segmenter); err != nil {
			return fmt.Errorf("sampling.segmenter: %w", err)
		}
	}
	if m, err := algo.MethodNamed(cfg.Algo.Name); err == nil && m.Resets() && localize.IsPlugin(cfg.Localizer.Name) {
		if _, err := load("localizer.name", cfg.Localizer.Name); err != nil {
			return err
		}
		if ps.localizer, err = ps.reg.Localizer(cfg.Localizer.Name); err != nil {
			return fmt.Errorf("localizer.name: %w", err)
		}
	}
	return nil
}

// pluginSource describes where a plugin comes from, for load errors:
// its .wasm file or its executable (the host's error names the plugin,
// and for a builtin the ones there are).
func pluginSource(pc host.PluginConfig) string {
	switch {
	case pc.Wasm != "":
		return fmt.Sprintf(" (wasm %s)", pc.Wasm)
	case pc.Process != "":
		return fmt.Sprintf(" (process %s)", pc.Process)
	}
	return ""
}

// counters snapshots the host's call counters as plugin -> "op:status" ->
// calls.
func (ps *pluginSet) counters() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, c := range ps.reg.Counters() {
		if out[c.Plugin] == nil {
			out[c.Plugin] = map[string]int{}
		}
		out[c.Plugin][c.Op+":"+string(c.Status)] = int(c.Count)
	}
	return out
}

func (ps *pluginSet) close() error { return ps.reg.Close() }
