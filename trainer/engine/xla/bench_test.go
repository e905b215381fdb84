package xla

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/model"
)

// TestBenchSmoke runs the benchmark program end to end on the nano preset
// with the pure-Go backend (the GPU run uses the same code with the
// Qwen2-0.5B shape and backend pjrt).
func TestBenchSmoke(t *testing.T) {
	c, err := model.Preset("nano")
	require.NoError(t, err)
	c = c.WithVocab(64)
	r, err := Bench(context.Background(), BenchConfig{Model: c, Extra: testExtra(),
		TrainBatch: 2, TrainLen: 16, TrainSteps: 1, SampleBatch: []int{4}, PromptLen: 4, NewTokens: 8, PeakTFLOPs: 1, Seed: 1},
		func(string, ...any) {})
	require.NoError(t, err)
	require.Positive(t, r.TrainTokPerS)
	require.Positive(t, r.MFU)
	require.Positive(t, r.SampleTokPerS[4])
	require.NotEmpty(t, r.Compiles)
}

func TestQwen2Shape(t *testing.T) {
	require.NoError(t, Qwen2_0_5B.Validate())
	require.InDelta(t, 494e6, float64(Qwen2_0_5B.NumParams()), 2e6)
}
