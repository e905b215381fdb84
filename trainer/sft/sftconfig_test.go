package sft

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/config"
)

var update = flag.Bool("update", false, "rewrite docs/sft-config.md")

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sft.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// The layers apply in order (defaults < file < REWIND_SFT_* < flags), and
// the optimiser keys are the trainer's.
func TestLoadLayers(t *testing.T) {
	file := writeConfig(t, "family: sum\nsteps: 7\noptim:\n  lr: 0.01\n  warmup_steps: 2\nmodel: {preset: nano, extra: {max_batch: \"4\"}}\nself: {steps: 3}\n")
	fs := pflag.NewFlagSet("sft", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--optim.schedule", "linear", "--set", "model.extra.token_budget=64"}))
	c, err := Load(config.Sources{File: file, Flags: fs,
		Environ: []string{"REWIND_SFT_STEPS=9", "REWIND_OPTIM_LR=5", "REWIND_STEPS=1"}}) // train's variables are not the warm start's
	require.NoError(t, err)
	want := DefaultConfig()
	want.Family, want.Steps, want.Self.Steps = "sum", 9, 3
	want.Optim.LR, want.Optim.WarmupSteps, want.Optim.Schedule = 0.01, 2, "linear"
	want.Model.Preset, want.Model.Extra = "nano", map[string]string{"max_batch": "4", "token_budget": "64"}
	require.Equal(t, want, c)
	require.Equal(t, 12, c.TrainOptim().TotalSteps, "the schedule spans both stages")

	// The resolved config reads back to itself.
	y, err := c.YAML()
	require.NoError(t, err)
	again, err := Load(config.Sources{File: writeConfig(t, string(y))})
	require.NoError(t, err)
	require.Equal(t, c, again)
}

// Unknown keys are errors in every layer, naming where they are and the
// key meant; the old keys of the SFT's own dialect are among them.
func TestLoadErrors(t *testing.T) {
	file := writeConfig(t, "family: sum\nlr: 0.003\nwarmup: 20\nmodel:\n  presett: tiny\n")
	fs := pflag.NewFlagSet("sft", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--set", "optim.nope=1", "--set", "steps=x"}))
	_, err := Load(config.Sources{File: file, Flags: fs, Environ: []string{"REWIND_SFT_SELF_STEP=1", "REWIND_SFT_BATCH=big"}})
	require.Error(t, err)
	for _, want := range []string{
		file + `:2: unknown key "lr" (did you mean "optim.lr"?)`,
		file + `:3: unknown key "warmup" (did you mean "optim.warmup_steps"?)`,
		file + `:5: unknown key "model.presett" (did you mean "model.preset"?)`,
		`environment: unknown variable REWIND_SFT_SELF_STEP (did you mean REWIND_SFT_SELF_STEPS?)`,
		`environment: REWIND_SFT_BATCH (key "batch"): want an integer, got "big"`,
		`flag --set: unknown key "optim.nope"`,
		`flag --set steps: want an integer, got "x"`,
	} {
		require.ErrorContains(t, err, want)
	}
}

// docs/sft-config.md documents every key; rewind sft --print-config-keys
// prints it.
func TestConfigDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "sft-config.md")
	doc := ConfigDoc()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./trainer/sft -run TestConfigDocIsCurrent -update`")
	require.Equal(t, doc, string(have), "docs/sft-config.md is stale: run `go test ./trainer/sft -run TestConfigDocIsCurrent -update`")
	for _, k := range Schema().Keys() {
		require.Contains(t, doc, "`"+k.Path+"`")
		require.NotEmpty(t, k.Help, k.Path)
	}
}
