package run

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestPassAtK(t *testing.T) {
	tests := []struct {
		n, c, k int
		want    float64
	}{
		{n: 1, c: 1, k: 1, want: 1},
		{n: 1, c: 0, k: 1, want: 0},
		{n: 8, c: 2, k: 1, want: 0.25},
		{n: 4, c: 1, k: 2, want: 0.5},         // 1 - C(3,2)/C(4,2) = 1 - 3/6
		{n: 8, c: 2, k: 4, want: 1 - 15.0/70}, // 1 - C(6,4)/C(8,4)
		{n: 8, c: 5, k: 4, want: 1},           // fewer than k wrong samples
		{n: 8, c: 0, k: 8, want: 0},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, passAtK(tt.n, tt.c, tt.k), 1e-12, "n=%d c=%d k=%d", tt.n, tt.c, tt.k)
	}
}

func TestEvalSummarize(t *testing.T) {
	r := EvalResult{Samples: 4, PerTask: []TaskEval{
		{ID: "a", GreedyStatus: abi.StatusOK, GreedyCorrect: true, Samples: 4, Correct: 1},
		{ID: "b", GreedyStatus: abi.StatusOK, Samples: 4, Correct: 0},
		{ID: "c", GreedyStatus: abi.StatusTimeout, Samples: 1, Correct: 1, Unusable: 3},
	}}
	require.NoError(t, r.summarize([]int{2, 1}))
	require.Equal(t, 3, r.Tasks)
	require.Equal(t, 0.5, r.PassAt1Greedy)
	require.Equal(t, 1, r.GreedyUnusable)
	require.InDelta(t, (0.25+0+1)/3, r.PassAtK["pass@1"], 1e-12)
	require.Equal(t, 3, r.PassAtKTasks["pass@1"])
	require.InDelta(t, 0.25, r.PassAtK["pass@2"], 1e-12) // task c has 1 usable sample
	require.Equal(t, 2, r.PassAtKTasks["pass@2"])
	require.ErrorContains(t, r.summarize([]int{5}), "pass@5 needs 1 <= k <= samples (4)")
}
