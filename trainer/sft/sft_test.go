package sft

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	_ "github.com/rewind-rl/rewind/trainer/engine/cpu"
	_ "github.com/rewind-rl/rewind/trainer/engine/xla"
)

// TestSFTEndToEnd runs a very small warm start of both stages: it trains, saves a
// checkpoint that the cpu engine opens (as rewind train would), evaluates
// and writes sft.json and sft.log. The numbers are not checked: a nano model after a
// few steps solves nothing; what matters is that every stage runs.
func TestSFTEndToEnd(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Family, cfg.Difficulty = "sum", 1
	cfg.Model.Preset = "nano"
	cfg.Examples, cfg.Steps, cfg.Batch, cfg.Optim.WarmupSteps, cfg.LogEvery = 40, 4, 4, 1, 2
	cfg.EvalTasks, cfg.EvalChains, cfg.EvalSamples = 4, 4, 2
	cfg.Self = SelfConfig{Steps: 2, Tasks: 8, Samples: 1, Mix: 0.5}
	cfg.Out = t.TempDir()
	rep, err := TrainLogged(context.Background(), cfg, io.Discard)
	require.NoError(t, err)
	logged, err := os.ReadFile(filepath.Join(cfg.Out, LogFile))
	require.NoError(t, err)
	require.NotEmpty(t, logged, "TrainLogged keeps the progress log beside the model")
	require.Equal(t, 40, rep.Examples)
	require.Equal(t, 4, rep.EvalTasks)
	require.Equal(t, 4, rep.Chains)
	require.Positive(t, rep.FinalLoss)
	require.Equal(t, 6, rep.Steps, "both stages")
	require.Equal(t, 8, rep.SelfSamples)
	require.Positive(t, rep.SelfFailures, "an untrained model fails with a wrong step")
	require.Equal(t, 2, rep.EvalSamples)

	b, err := os.ReadFile(filepath.Join(cfg.Out, "sft.json"))
	require.NoError(t, err)
	var onDisk Report
	require.NoError(t, json.Unmarshal(b, &onDisk))
	require.Equal(t, rep, onDisk)

	pol, err := engine.Open("cpu", engine.Options{Dir: rep.Model})
	require.NoError(t, err)
	tok := pol.Tokenizer()
	id, ok := tok.TokenID("</thought>")
	require.True(t, ok)
	require.Equal(t, []int{id}, tok.Encode("</thought>"), "the delimiter is one token")
	require.Equal(t, "Add 1+2\n", tok.Decode(tok.Encode("Add 1+2\n")))
}

// The warm start runs on any registered engine: a stage-1 warm start on
// the xla engine (its pure-Go backend) trains, saves a checkpoint the cpu
// engine opens, and evaluates.
func TestSFTOnXLA(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles XLA graphs")
	}
	cfg := DefaultConfig()
	cfg.Family, cfg.Difficulty = "sum", 1
	cfg.Model.Engine, cfg.Model.Preset = "xla", "nano"
	cfg.Examples, cfg.Steps, cfg.Batch, cfg.Optim.WarmupSteps, cfg.LogEvery = 16, 2, 4, 1, 1
	cfg.EvalTasks, cfg.EvalChains, cfg.EvalSamples = 2, 2, 0
	cfg.Out = t.TempDir()
	rep, err := Train(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.Equal(t, 2, rep.Steps)
	require.Positive(t, rep.FinalLoss)
	_, err = engine.Open("cpu", engine.Options{Dir: rep.Model, WeightsOnly: true})
	require.NoError(t, err, "the xla engine's checkpoint opens on the cpu engine, as rewind train opens a warm start")
}

func TestSFTConfigValidate(t *testing.T) {
	require.NoError(t, func() error { c := DefaultConfig(); c.Family, c.Out = "mul", "x"; return c.Validate() }())
	c := Config{}
	err := c.Validate()
	require.Error(t, err)
	for _, field := range []string{"family", "difficulty", "examples", "steps", "batch", "optim.lr", "template", "model.engine", "model.preset", "out"} {
		require.ErrorContains(t, err, `field "`+field+`"`)
	}
	require.ErrorContains(t, err, "optim.eps = 0: must be > 0", "the optimiser is checked as the engine checks it")
	c = DefaultConfig()
	c.Family, c.Out, c.Optim.WarmupSteps = "mul", "x", c.Steps
	require.ErrorContains(t, c.Validate(), "optim.total_steps = 400: schedule \"cosine\" needs total_steps > warmup_steps = 400")
}
