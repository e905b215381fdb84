// Package enginetest is the conformance suite every engine.Policy
// implementation runs: reference numbers from Hugging Face transformers
// (testdata/hf/qwen2-tiny at the repository root), sampling determinism, stop strings
// and tokens, prefix continuation, log-prob consistency, checkpoint
// round trips and weights-only opening. An engine's test calls Run (or the individual checks) with a
// factory that opens its policy.
package enginetest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testref"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// Factory opens a policy with opts, whose Dir, Optim and WeightsOnly the
// suite sets; the factory adds its engine's settings (Seed, Extra). It
// fails the test itself on error.
type Factory func(t testing.TB, opts engine.Options) engine.Policy

// Logitser is the optional capability engine.Logitser: when a policy has
// it, Golden checks the logits.
type Logitser = engine.Logitser

// Gradienter is an optional capability: the loss of a batch and the
// gradient of every parameter by Hugging Face name (row-major, in the
// checkpoint's layout), without an optimiser step. When a policy has it,
// Golden checks every parameter's gradient.
type Gradienter interface {
	Gradients(ctx context.Context, b engine.Batch) (float64, map[string][]float32, error)
}

// Tolerances of the reference checks.
const (
	LogitTol    = 1e-4 // absolute
	LossTol     = 1e-5 // absolute
	GradNormTol = 1e-3 // relative
	GradValTol  = 1e-4 // absolute
	// LogProbTol bounds the difference between the log-probs that Generate
	// reports (incremental, KV cache) and those of LogProbs (one pass).
	LogProbTol = 1e-4
)

// RepoRoot is the repository root.
func RepoRoot() string { return testref.RepoRoot() }

// HFDir is the reference checkpoint testdata/hf/qwen2-tiny under the
// repository root.
func HFDir() string { return testref.HFDir() }

// Reference is the content of HFDir()/golden.json.
type Reference struct {
	InputIDs    [][]int `json:"input_ids"`
	LogitsShape []int   `json:"logits_shape"`
	Loss        float64 `json:"logprob_loss"`
	Grads       map[string]struct {
		Norm   float64   `json:"norm"`
		First8 []float64 `json:"first8"`
	} `json:"grads"`
	GreedyPrompt []int `json:"greedy_prompt_ids"`
	GreedyOutput []int `json:"greedy_output_ids"`
}

// LoadReference reads golden.json and logits.f32 from HFDir().
func LoadReference(t testing.TB) (Reference, []float32) {
	t.Helper()
	var g Reference
	b, err := os.ReadFile(filepath.Join(testref.RequireHFDir(t), "golden.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &g))
	raw, err := os.ReadFile(filepath.Join(HFDir(), "logits.f32"))
	require.NoError(t, err)
	logits := make([]float32, len(raw)/4)
	for i := range logits {
		logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return g, logits
}

// MeanNLLBatch is the batch whose pg loss is the reference logprob_loss:
// minus the mean log-probability of every next token.
func MeanNLLBatch(ids [][]int) engine.Batch {
	n := 0
	for _, s := range ids {
		n += len(s) - 1
	}
	b := engine.Batch{Loss: engine.LossPG}
	for _, s := range ids {
		w := make([]float32, len(s))
		for t := 1; t < len(s); t++ {
			w[t] = 1 / float32(n)
		}
		b.Seqs = append(b.Seqs, engine.Sequence{Tokens: s, Weights: w})
	}
	return b
}

// TestOptim is the optimiser the suite trains with.
var TestOptim = engine.Optim{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "constant"}

// Run runs every check as a subtest.
func Run(t *testing.T, open Factory) {
	t.Run("Golden", func(t *testing.T) { Golden(t, open) })
	t.Run("Sampling", func(t *testing.T) { Sampling(t, open) })
	t.Run("StopStringsAndTokens", func(t *testing.T) { Stops(t, open) })
	t.Run("PrefixContinuation", func(t *testing.T) { Prefix(t, open) })
	t.Run("GenerateLogProbs", func(t *testing.T) { GenerateLogProbs(t, open) })
	t.Run("SaveOpen", func(t *testing.T) { SaveOpen(t, open) })
	t.Run("WeightsOnly", func(t *testing.T) { WeightsOnly(t, open) })
}
