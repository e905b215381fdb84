package rollout

import (
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/stretchr/testify/require"
)

func TestStepStats(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	traj := algo.Trajectory{
		Tokens:    []int{1, 2, 3, 4, 5},
		LogProbs:  []float32{-1, -3, -0.5, -0.25, -0.75},
		Entropies: []float32{2, 1, 0.5, 0.25, 0.75},
		// Step 2 has one token; the token between the steps belongs to none.
		Steps: []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 3}, {Start: 4, End: 5}},
	}
	want := []abi.StepStats{
		{Tokens: 2, MeanLogProb: -2, MinLogProb: -3, MeanEntropy: f(1.5)},
		{Tokens: 1, MeanLogProb: -0.5, MinLogProb: -0.5, MeanEntropy: f(0.5)},
		{Tokens: 1, MeanLogProb: -0.75, MinLogProb: -0.75, MeanEntropy: f(0.75)},
	}
	require.Equal(t, want, StepStats(&traj))

	t.Run("no entropies", func(t *testing.T) {
		tr := traj
		tr.Entropies = nil
		got := StepStats(&tr)
		require.Len(t, got, 3)
		for k := range got {
			require.Nil(t, got[k].MeanEntropy)
			require.Equal(t, want[k].MeanLogProb, got[k].MeanLogProb)
		}
	})
	t.Run("no log-probs", func(t *testing.T) {
		tr := traj
		tr.LogProbs = nil
		require.Nil(t, StepStats(&tr))
	})
	t.Run("empty step", func(t *testing.T) {
		tr := traj
		tr.Steps = []algo.Span{{Start: 0, End: 5}, {Start: 5, End: 5}}
		got := StepStats(&tr)
		require.Equal(t, abi.StepStats{}, got[1])
		require.Equal(t, 5, got[0].Tokens)
		require.InDelta(t, -1.1, got[0].MeanLogProb, 1e-9)
		require.Equal(t, -3.0, got[0].MinLogProb)
	})
}
