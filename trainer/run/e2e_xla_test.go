package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	_ "github.com/rewind-rl/rewind/trainer/engine/xla"
)

// TestEndToEndXLA runs two SRPO steps with model.engine xla (GoMLX's
// pure-Go backend, the same graphs XLA compiles on a GPU), then opens the
// last checkpoint with the CPU engine: the two engines share the
// checkpoint format, and the trained policy's log-probs agree.
func TestEndToEndXLA(t *testing.T) {
	dir, policy := trainXLA(t, nil)
	ms := readLines(t, filepath.Join(dir, MetricsFile))
	require.Len(t, ms, 2)
	var first struct{ Time map[string]float64 }
	require.NoError(t, json.Unmarshal([]byte(ms[0]), &first))
	require.Positive(t, first.Time["compiles"], "the first step compiles its graphs")
	require.Positive(t, first.Time["compile_sec"])
	requireWholeEngineCheckpoints(t, dir)

	ids := [][]int{{1, 2, 3, 4, 5, 6}}
	var lps [][][]float32
	for _, name := range []string{"xla", "cpu"} {
		p, err := engine.Open(name, engine.Options{Dir: policy, WeightsOnly: true})
		require.NoError(t, err, name)
		lp, err := p.LogProbs(context.Background(), ids)
		require.NoError(t, err, name)
		lps = append(lps, lp)
	}
	require.InDeltaSlice(t, toF64(lps[0][0]), toF64(lps[1][0]), 1e-4, "xla and cpu log-probs of the xla-trained checkpoint")
}

// TestEndToEndXLALoRA trains two SRPO steps of a rank-2 LoRA adapter
// (model.extra.lora_rank): the checkpoints hold the adapter in PEFT's
// layout, and opening the last one gives the trained adapter's log-probs,
// not the base model's.
func TestEndToEndXLALoRA(t *testing.T) {
	ctx := context.Background()
	_, policy := trainXLA(t, func(c *Config) {
		c.Model.Extra = map[string]string{"lora_rank": "2", "lora_targets": "q_proj,v_proj,up_proj"}
		c.Optim.LR = 1e-2
	})
	for _, f := range []string{"adapter_model.safetensors", "adapter_config.json", "model.safetensors"} {
		_, err := os.Stat(filepath.Join(policy, f))
		require.NoError(t, err, f)
	}
	ids := [][]int{{1, 2, 3, 4, 5, 6}}
	var lps [][][]float32
	for _, d := range []string{warmModel(t), policy} {
		p, err := engine.Open("xla", engine.Options{Dir: d, WeightsOnly: true})
		require.NoError(t, err)
		lp, err := p.LogProbs(ctx, ids)
		require.NoError(t, err)
		lps = append(lps, lp)
	}
	require.NotEqual(t, lps[0], lps[1], "the trained adapter changes the model")
}

// trainXLA runs two SRPO steps of the e2e setup on the xla engine, with
// edit applied to the config, and returns the run directory and the last
// checkpoint's policy folder.
func trainXLA(t *testing.T, edit func(*Config)) (dir, policy string) {
	t.Helper()
	if testing.Short() {
		t.Skip("trains a model")
	}
	require.FileExists(t, e2eWasm, "the committed Wasm verifier is missing")
	dir = filepath.Join(t.TempDir(), "xla")
	cfg := e2eConfig(t, "srpo", dir, warmModel(t), e2eData(t, 8))
	cfg.Model.Engine = "xla"
	if edit != nil {
		edit(&cfg)
	}
	require.NoError(t, cfg.Validate())
	sum, err := Train(context.Background(), Options{Config: cfg})
	require.NoError(t, err)
	require.Equal(t, 2, sum.Steps)
	all, err := checkpoints(dir)
	require.NoError(t, err)
	return dir, filepath.Join(all[len(all)-1], "policy")
}

func toF64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
