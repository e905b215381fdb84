package algo

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAddKL checks the penalty's weights against the derivative of
// coef * n * k3 taken numerically, its statistics, and that tokens
// outside the mask (the reset group's copied prefix, the prompt) keep
// weight 0.
func TestAddKL(t *testing.T) {
	for _, norm := range []Norm{NormSeqMean, NormTokenMean, NormSeqSum} {
		t.Run(string(norm), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Norm, cfg.MaxLen = norm, 20
			prompts := []*Prompt{assembled(t, Variant1x4, cfg, mkPrompt("SFFSFS", "SSFF"))}
			b, refs, err := BuildBatch(prompts, cfg)
			require.NoError(t, err)
			before := make([][]float32, len(b.Seqs))
			ref := make([][]float32, len(b.Seqs))
			for i, s := range b.Seqs {
				before[i] = append([]float32(nil), s.Weights...)
				ref[i] = make([]float32, len(s.Tokens))
				for k := range ref[i] {
					// Reference log-probs above and below the policy's
					// (-k/10 at response position k).
					ref[i][k] = -0.5 + 0.05*float32((k+i)%7)
				}
			}
			const coef = 0.3
			st, err := AddKL(&b, refs, prompts, cfg, coef, ref)
			require.NoError(t, err)

			n, tokens := trainedCounts(prompts)
			require.Equal(t, 8, n)
			k3 := func(d float64) float64 { return math.Exp(d) - d - 1 }
			sum, count := 0.0, 0
			for i, s := range b.Seqs {
				tr := prompts[0].Trajs[refs[i].Traj]
				off := len(prompts[0].PromptIDs)
				norm := tokenNorm(cfg, tr.MaskEnd-tr.MaskStart, n, tokens)
				for k := range s.Weights {
					r := tr.MaskStart
					if k < off+r || k >= off+tr.MaskEnd {
						require.Equal(t, before[i][k], s.Weights[k], "seq %d pos %d outside the mask", i, k)
						continue
					}
					lp := float64(tr.LogProbs[k-off])
					pen := func(lp float64) float64 { return coef * norm * k3(float64(ref[i][k])-lp) }
					const h = 1e-5
					dPen := (pen(lp+h) - pen(lp-h)) / (2 * h)
					// The loss is -sum w logp + penalty, so the weight
					// (minus dL/dlogp) moves by -dPen.
					require.InDelta(t, float64(before[i][k])-dPen, float64(s.Weights[k]), 1e-6, "seq %d pos %d", i, k)
					sum += k3(float64(ref[i][k]) - lp)
					count++
				}
			}
			require.Equal(t, count, st.Tokens)
			require.Equal(t, tokens, st.Tokens)
			require.InDelta(t, sum/float64(count), st.Mean, 1e-9)
			require.Greater(t, st.Max, st.Mean)
		})
	}
}

func TestAddKLNeedsLogProbs(t *testing.T) {
	cfg := DefaultConfig()
	prompts := []*Prompt{assembled(t, VariantGRPO, cfg, mkPrompt("SFSFSFSF"))}
	b, refs, err := BuildBatch(prompts, cfg)
	require.NoError(t, err)
	ref := make([][]float32, len(b.Seqs))
	for i, s := range b.Seqs {
		ref[i] = make([]float32, len(s.Tokens))
	}
	_, err = AddKL(&b, refs, prompts, cfg, 0.1, ref[:1])
	require.ErrorContains(t, err, "reference log-prob rows")
	prompts[0].Trajs[refs[0].Traj].LogProbs = nil
	_, err = AddKL(&b, refs, prompts, cfg, 0.1, ref)
	require.ErrorContains(t, err, "sampling-time log-prob")
}
