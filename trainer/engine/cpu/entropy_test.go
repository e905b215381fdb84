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

// BenchmarkSampleRow measures the per-token cost of the entropy on a large
// vocabulary, where it matters most: logSumExp (before entropies were
// reported) against the fused logSumExpEntropy that sampling now calls.
//
//	go test ./trainer/engine/cpu -run '^$' -bench SampleRow
func BenchmarkSampleRow(b *testing.B) {
	row := make([]float32, 32768)
	for i := range row {
		row[i] = float32(math.Sin(float64(i))) * 8
	}
	b.Run("logSumExp", func(b *testing.B) {
		for range b.N {
			_ = logSumExp(row)
		}
	})
	b.Run("logSumExpEntropy", func(b *testing.B) {
		for range b.N {
			_, _ = logSumExpEntropy(row)
		}
	})
}
