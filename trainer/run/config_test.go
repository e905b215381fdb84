package run

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/algo"
)

var update = flag.Bool("update", false, "rewrite docs/config.md")

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestPresetsValidate(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			c, err := Preset(name)
			require.NoError(t, err)
			c.Model.Path = "models/x"
			require.NoError(t, c.Validate())
			require.Equal(t, name, c.Preset)
		})
	}
	_, err := Preset("ppo")
	require.ErrorContains(t, err, `unknown preset "ppo"`)
}

// Every method of algo's table has a preset of its name with the
// method's defaults.
func TestPresetPerMethod(t *testing.T) {
	for _, name := range algo.Methods() {
		m, err := algo.MethodNamed(name)
		require.NoError(t, err)
		c, err := Preset(name)
		require.NoError(t, err, "method %s has a preset", name)
		require.Equal(t, name, c.Algo.Name)
		require.Equal(t, string(m.Loss), c.Algo.Loss)
		require.Equal(t, m.Localizer, c.Localizer.Name)
		if m.Resets() {
			require.Equal(t, string(m.Variant), c.Algo.Layout)
		}
	}
}

func TestPresetReleaseSettings(t *testing.T) {
	c, err := Preset("srpo")
	require.NoError(t, err)
	require.Equal(t, 8, c.Algo.GroupSize)
	require.Equal(t, "1x4", c.Algo.Layout)
	require.Equal(t, 12, c.Algo.MaxFresh)
	require.Equal(t, 5e-5, c.Optim.LR)
	require.Equal(t, 0.01, c.Optim.WeightDecay)
	require.Equal(t, 1.0, c.Optim.GradClip)
	require.Equal(t, 32, c.Data.BatchPrompts)
	require.Equal(t, 2, c.Data.Epochs)
	require.Equal(t, 0.7, c.Sampling.Temperature)
	require.Equal(t, 0.95, c.Sampling.TopP)
	require.Equal(t, []int{20, 256, 5120}, []int{c.Sampling.MaxSteps, c.Sampling.MaxStepTokens, c.Sampling.MaxTokens})
	require.Equal(t, 0.3, c.Localizer.Temperature)
	require.Equal(t, 4096, c.Localizer.MaxTokens)
	require.Equal(t, "pg", c.Algo.Loss)

	g, _ := Preset("grpo")
	require.Equal(t, "clip", g.Algo.Loss)
	r, _ := Preset("rrpo")
	require.Equal(t, "random", r.Localizer.Name)
	x, _ := Preset("srpo-1x8")
	require.Equal(t, 0.0, x.Localizer.Temperature)
	require.Equal(t, "1x8", x.Algo.Layout)
}

func TestLoadLayers(t *testing.T) {
	file := writeFile(t, "c.yaml", `
preset: rrpo
run:
  seed: 7
  steps: 3
model:
  path: m
algo:
  loss: clip
reward:
  models:
    length: 0.25
plugins:
  boxed:
    wasm: examples/boxed.wasm
    limits: {timeout: 2s}
`)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--run.steps", "9", "--set", "reward.models.other=2"}))
	c, err := Load(Sources{
		File:    file,
		Environ: []string{"REWIND_RUN_STEPS=5", "REWIND_RUN_SEED=11", "REWIND_REWARD_MODELS_LENGTH=0.5", "HOME=/x", "REWIND_CACHE=ignored"},
		Flags:   fs,
	})
	require.NoError(t, err)
	require.Equal(t, "rrpo", c.Preset)
	require.Equal(t, "random", c.Localizer.Name) // from the preset
	require.Equal(t, uint64(11), c.Run.Seed)     // env over file
	require.Equal(t, 9, c.Run.Steps)             // flag over env over file
	require.Equal(t, "clip", c.Algo.Loss)
	require.Equal(t, map[string]float64{"length": 0.5, "other": 2}, c.Reward.Models)
	require.Equal(t, "examples/boxed.wasm", c.Plugins["boxed"]["wasm"])
	require.Equal(t, "runs/rrpo", c.Run.Dir)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     []string
		flags   []string
		wantAll []string
	}{
		{
			name:    "unknown key with suggestion and line",
			file:    "model:\n  path: m\nalgo:\n  los: clip\n",
			wantAll: []string{`c.yaml:4: unknown key "algo.los" (did you mean "algo.loss"?)`},
		},
		{
			name:    "right key in the wrong section",
			file:    "model:\n  path: m\nrun:\n  lr: 0.1\n",
			wantAll: []string{`c.yaml:4: unknown key "run.lr" (did you mean "optim.lr"?)`},
		},
		{
			name:    "unknown section without suggestion",
			file:    "model:\n  path: m\nwandb:\n  project: x\n",
			wantAll: []string{`c.yaml:4: unknown key "wandb.project"; ` + "`rewind train --print-config-keys`"},
		},
		{
			name:    "wrong types are all reported",
			file:    "model:\n  path: m\nrun:\n  steps: 1.5\n  seed: -1\nalgo:\n  dr_grpo: maybe\n",
			wantAll: []string{`c.yaml:4: key "run.steps": want an integer, got 1.5`, `c.yaml:5: key "run.seed": want a non-negative integer`, `c.yaml:7: key "algo.dr_grpo": want true or false`},
		},
		{
			name:    "environment",
			file:    "model:\n  path: m\n",
			env:     []string{"REWIND_ALGO_LOS=clip", "REWIND_RUN_STEPS=x"},
			wantAll: []string{"environment: unknown variable REWIND_ALGO_LOS (did you mean REWIND_ALGO_LOSS?)", `environment: REWIND_RUN_STEPS (key "run.steps"): want an integer, got "x"`},
		},
		{
			name:    "set flag",
			file:    "model:\n  path: m\n",
			flags:   []string{"--set", "algo.clip=0.3", "--set", "novalue"},
			wantAll: []string{`flag --set: unknown key "algo.clip" (did you mean "algo.clip_low"?)`, `flag --set "novalue": want KEY=VALUE`},
		},
		{
			name: "validate reports every field",
			file: "model:\n  path: m\nalgo:\n  loss: ppo\n  layout: 3x3\nrun:\n  log: fancy\nsampling:\n  top_p: 2\n",
			wantAll: []string{
				`algo.layout: "3x3" is not one of 1x4, 1x8, 2x4`,
				`algo.loss: "ppo" is not one of pg, clip`,
				`run.log: "fancy" is not one of auto, bar, plain, none`,
				"sampling.top_p: must be in [0, 1], got 2",
			},
		},
		{
			name:    "model required",
			file:    "run:\n  seed: 3\n",
			wantAll: []string{"model.path: set model.path to a checkpoint directory, or model.preset"},
		},
		{
			name:    "plugin source",
			file:    "model:\n  path: m\nplugins:\n  v:\n    builtin: boxed\n    wasm: x.wasm\n",
			wantAll: []string{"plugins.v: exactly one of builtin, wasm and process must be set (got 2)"},
		},
		{
			name:    "plugin keys are checked by the host",
			file:    "model:\n  path: m\nplugins:\n  v:\n    wasm: v.wasm\n    limits: {timeot: 2s}\n",
			wantAll: []string{"plugins.v: plugin config plugins.v: ", "timeot"},
		},
		{
			name:    "unknown preset",
			file:    "preset: ppo\nmodel:\n  path: m\n",
			wantAll: []string{`preset: unknown preset "ppo"`},
		},
		{
			name:    "pjrt plugin on the cpu engine",
			file:    "model:\n  path: m\n  pjrt_plugin: /opt/xla_cuda_plugin.so\n",
			wantAll: []string{`model.pjrt_plugin: is only read by engine xla (model.engine is "cpu")`},
		},
		{
			name:    "relative pjrt plugin",
			file:    "model:\n  path: m\n  engine: xla\n  pjrt_plugin: xla_cuda_plugin.so\n",
			wantAll: []string{"model.pjrt_plugin: must be an absolute path"},
		},
		{
			name:    "two pjrt plugins",
			file:    "model:\n  path: m\n  engine: xla\n  pjrt_plugin: /a/p.so\n  extra: {pjrt_plugin: /b/p.so}\n",
			wantAll: []string{"model.pjrt_plugin: and model.extra.pjrt_plugin disagree"},
		},
		{
			name:    "srpo with random localizer",
			file:    "model:\n  path: m\nlocalizer:\n  name: random\n",
			wantAll: []string{"use algo.name: rrpo for random"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			AddFlags(fs)
			require.NoError(t, fs.Parse(tt.flags))
			_, err := Load(Sources{File: writeFile(t, "c.yaml", tt.file), Environ: tt.env, Flags: fs})
			require.Error(t, err)
			for _, want := range tt.wantAll {
				require.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			c, _ := Preset(name)
			c.Model.Path = "m"
			c.Model.Extra = map[string]string{"plugin": "/x.so"}
			c.Reward.Models = map[string]float64{"len": 0.1}
			c.Plugins = map[string]map[string]any{"v": {"wasm": "v.wasm", "options": map[string]any{"k": "v"}}}
			y, err := c.YAML()
			require.NoError(t, err)
			got, err := Load(Sources{File: writeFile(t, "config.yaml", string(y))})
			require.NoError(t, err, string(y))
			require.Equal(t, c, got)
		})
	}
}

func TestConfigDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "config.md")
	doc := ConfigDoc()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./trainer/run -run TestConfigDocIsCurrent -update`")
	require.Equal(t, doc, string(have), "docs/config.md is stale: run `go test ./trainer/run -run TestConfigDocIsCurrent -update`")
	for _, k := range schema.Keys() {
		require.True(t, strings.Contains(doc, "`"+k.Path+"`"), k.Path)
	}
}

// The README carries the key table of docs/config.md between its
// config-keys markers, so the two cannot drift apart.
func TestReadmeConfigKeysAreCurrent(t *testing.T) {
	const begin, end = "<!-- config-keys:begin -->\n", "<!-- config-keys:end -->"
	path := filepath.Join("..", "..", "README.md")
	var table strings.Builder
	for _, line := range strings.SplitAfter(ConfigDoc(), "\n") {
		if strings.HasPrefix(line, "|") {
			table.WriteString(line)
		}
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(have)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "README.md lacks the config-keys markers")
	want := readme[:i+len(begin)] + table.String() + readme[j:]
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		readme = want
	}
	require.Equal(t, want, readme, "README.md's config key table is stale: run `go test ./trainer/run -run ConfigKeys -update`")
}

// Every example config in configs/ loads and validates.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(Sources{File: f})
			require.NoError(t, err)
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	got := EnvOverrides([]string{"REWIND_RUN_STEPS=5", "HOME=/x", "REWIND_BLAS=off", "REWIND_ALGO_LOS=clip", "REWIND_PRESET=grpo", "REWIND_REWARD_MODELS_LENGTH=0.5"})
	require.Equal(t, []string{"REWIND_ALGO_LOS", "REWIND_PRESET", "REWIND_REWARD_MODELS_LENGTH", "REWIND_RUN_STEPS"}, got)
	require.Empty(t, EnvOverrides([]string{"REWIND_BLAS=off", "PATH=/bin"}))
}

// TestTinyPresets: each -tiny preset is its paper preset with the tiny
// recipe (optim.lr and algo.kl_coef) and nothing else, and the paper
// presets carry no KL penalty.
func TestTinyPresets(t *testing.T) {
	for _, name := range tinyPresets {
		paper, err := Preset(name)
		require.NoError(t, err)
		require.Zero(t, paper.Algo.KLCoef, name)
		tiny, err := Preset(name + "-tiny")
		require.NoError(t, err)
		require.Equal(t, TinyLR, tiny.Optim.LR)
		require.Equal(t, TinyKLCoef, tiny.Algo.KLCoef)
		tiny.Preset, tiny.Run.Dir, tiny.Optim.LR, tiny.Algo.KLCoef = paper.Preset, paper.Run.Dir, paper.Optim.LR, 0
		require.Equal(t, paper, tiny, name)
	}
}
