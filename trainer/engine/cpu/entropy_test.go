package cpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogSumExpEntropy checks the fused pass against hand-computed values
// and checks that its log-sum-exp is logSumExp's, bit for bit, so that
// sampled log-probs do not change with the entropy.
func TestLogSumExpEntropy(t *testing.T) {
	ln := math.Log
	for _, tc := range []struct {
		name string
		row  []float32
		ent  float64
	}{
		{"one logit", []float32{3}, 0},
		{"two equal", []float32{1, 1}, ln(2)},
		{"p = 1/4, 3/4", []float32{0, float32(ln(3))}, -(0.25*ln(0.25) + 0.75*ln(0.75))},
		{"four equal, shifted", []float32{-7, -7, -7, -7}, ln(4)},
		{"one dominant", []float32{0, -100, -100}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lse, ent := logSumExpEntropy(tc.row)
			require.Equal(t, logSumExp(tc.row), lse)
			require.InDelta(t, tc.ent, ent, 1e-6)
		})
	}
}
