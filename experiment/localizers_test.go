package experiment

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	_ "github.com/rewind-rl/rewind/plugins/procprm"
	"github.com/rewind-rl/rewind/trainer/run"
)

// TestLocalizerComparisons checks the head-to-head configs of the
// localization strategies (examples/benchmarks/*/localizers.yaml, issue
// 14): each loads over the default experiment, every arm's train config
// loads and validates, every arm has the same budgets, the arms differ in
// their localizer only, and every localizer plugin an arm names loads with
// its options (prm with its reward model), as in a run.
func TestLocalizerComparisons(t *testing.T) {
	for _, family := range []string{"walk", "cups"} {
		t.Run(family, func(t *testing.T) {
			e, err := Load(filepath.Join("..", "examples", "benchmarks", family, "localizers.yaml"))
			require.NoError(t, err)
			require.NoError(t, e.Validate())
			require.Equal(t, family, e.Family)
			require.Len(t, e.Compare.Seeds, 5)

			dir := t.TempDir()
			ws := &Workspace{Dir: dir, TrainData: "train.jsonl", EvalData: "eval.jsonl", Model: "model", LocData: "loc.jsonl", TrainConfig: filepath.Join(dir, "train.yaml")}
			require.NoError(t, ws.writeTrainConfig(e))
			jobs, _, steps, err := plan(e, ws)
			require.NoError(t, err)
			require.Positive(t, steps)
			require.Len(t, jobs, len(e.Compare.Arms)*5)

			// The recipe and budget of the default experiment's comparison
			// (docs/results.md), so that its arms and these line up.
			def, err := Load("")
			require.NoError(t, err)
			require.Equal(t, def.Compare.MaxGeneratedTokens, e.Compare.MaxGeneratedTokens)
			require.Equal(t, 200, e.Compare.EvalLimit)
			grpo, err := ArmConfig(ws, def.Compare.Arms[0], 1, filepath.Join(dir, "def"))
			require.NoError(t, err)

			names := map[string]string{}
			for _, j := range jobs {
				require.Equal(t, e.Compare.MaxGeneratedTokens, j.cfg.Run.MaxGeneratedTokens, j.arm.Name)
				require.Equal(t, grpo.Optim.LR, j.cfg.Optim.LR, j.arm.Name)
				require.Equal(t, grpo.Algo.KLCoef, j.cfg.Algo.KLCoef, j.arm.Name)
			}
			for _, a := range e.Compare.Arms {
				cfg, err := ArmConfig(ws, a, 1, filepath.Join(dir, a.Name))
				require.NoError(t, err, a.Name)
				names[a.Name] = cfg.Localizer.Name
				if a.Name == "grpo" || cfg.Localizer.Name == "self" {
					continue
				}
				loadLocalizer(t, cfg)
			}
			// Every strategy of docs/localizers.md, each arm named after
			// its localizer (entropy-t: entropy with a tuned threshold).
			want := map[string]string{"grpo": "", "self": "self", "random": "random", "oracle": "oracle",
				"entropy": "entropy", "confidence": "confidence", "prm": "prm"}
			if family == "walk" {
				want["entropy-t"] = "entropy-t"
			}
			require.Equal(t, want, names)
			// entropy-t's plugin is set in its arm: the other arms' configs
			// do not name it (so adding the arm kept their finished runs).
			for _, j := range jobs {
				_, has := j.cfg.Plugins["entropy-t"]
				require.Equal(t, j.arm.Name == "entropy-t", has, j.arm.Name)
				if j.arm.Name == "entropy-t" {
					pc, err := host.DecodePluginConfig(j.cfg.Plugins["entropy-t"], "entropy-t")
					require.NoError(t, err)
					require.Equal(t, "entropy", pc.Builtin)
					require.Contains(t, pc.Options, "threshold", "entropy-t sets the threshold picked with rewind probe")
					require.Contains(t, j.cfg.Plugins, "procprm", "the arm's plugin is merged into the plugins section")
				}
			}
		})
	}
}

// loadLocalizer loads cfg's localizer as a run does: from its plugins
// entry or the builtin of that name, other plugins resolved the same way.
func loadLocalizer(t *testing.T, cfg run.Config) {
	t.Helper()
	pc := func(name string) (host.PluginConfig, error) {
		if m, ok := cfg.Plugins[name]; ok {
			return host.DecodePluginConfig(m, "plugins."+name)
		}
		return host.PluginConfig{Builtin: name}, nil
	}
	reg := host.NewRegistry(host.Options{Resolve: pc})
	defer reg.Close()
	c, err := pc(cfg.Localizer.Name)
	require.NoError(t, err)
	require.NoError(t, reg.Load(context.Background(), cfg.Localizer.Name, c))
	_, err = reg.Localizer(cfg.Localizer.Name)
	require.NoError(t, err)
}
