package algo

import (
	"fmt"
	"math"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// KLStats summarise the KL penalty of one batch.
type KLStats struct {
	// Mean is the k3 estimate of KL(pi || pi_ref) averaged over the
	// penalised tokens: k3 = exp(d) - d - 1 with d = log pi_ref - log pi.
	Mean float64 `json:"mean"`
	// Max is the largest per-token k3.
	Max float64 `json:"max"`
	// Tokens counts the penalised tokens (every trained token).
	Tokens int `json:"tokens"`
}

// AddKL adds a KL penalty to the reference policy to a batch made by
// BuildBatch (refs are its SeqRefs, prompts the prompts it was built
// from): coef * k3 per trained token, with the normaliser of cfg.Norm, as
// in GRPO (DeepSeekMath). ref[i] holds log pi_ref of Seqs[i]'s tokens (as
// engine.Policy.LogProbs returns them).
//
// The penalty enters through the weights: for a trained token with
// d = log pi_ref - log pi, d(k3)/d(log pi) = 1 - exp(d), so its weight
// becomes w - coef * n * (1 - exp(d)), n being the token's normaliser
// (1/(|m_i| N), 1/sum|m| or 1/(MaxLen N)). log pi is the sampling-time
// log-prob (Trajectory.LogProbs), which is the current policy's because
// the trainer takes one optimiser step per batch of fresh samples; the
// weight is then exactly the gradient coefficient of the penalised loss.
// Trajectories with advantage 0 (weight 0) are penalised too.
func AddKL(b *engine.Batch, refs []SeqRef, prompts []*Prompt, cfg Config, coef float64, ref [][]float32) (KLStats, error) {
	var st KLStats
	if len(ref) != len(b.Seqs) || len(refs) != len(b.Seqs) {
		return st, fmt.Errorf("algo: kl: %d reference log-prob rows and %d refs for %d sequences", len(ref), len(refs), len(b.Seqs))
	}
	n, tokens := trainedCounts(prompts)
	var sum float64
	for i := range b.Seqs {
		p := prompts[refs[i].Prompt]
		t := &p.Trajs[refs[i].Traj]
		seq := &b.Seqs[i]
		if len(ref[i]) != len(seq.Tokens) {
			return st, fmt.Errorf("algo: kl: sequence %d: %d reference log-probs for %d tokens", i, len(ref[i]), len(seq.Tokens))
		}
		if len(t.LogProbs) != len(t.Tokens) {
			return st, fmt.Errorf("algo: kl: prompt %d trajectory %d: %d log-probs for %d tokens; the KL penalty needs the sampling-time log-prob of every token", p.Index, refs[i].Traj, len(t.LogProbs), len(t.Tokens))
		}
		norm := tokenNorm(cfg, t.MaskEnd-t.MaskStart, n, tokens)
		off := len(p.PromptIDs)
		for k := t.MaskStart; k < t.MaskEnd; k++ {
			d := float64(ref[i][off+k]) - float64(t.LogProbs[k])
			e := math.Exp(d)
			k3 := e - d - 1
			sum += k3
			st.Max = math.Max(st.Max, k3)
			st.Tokens++
			seq.Weights[off+k] -= float32(coef * norm * (1 - e))
		}
	}
	if st.Tokens > 0 {
		st.Mean = sum / float64(st.Tokens)
	}
	return st, nil
}

// trainedCounts returns the number of trained trajectories and of their
// trained tokens over prompts: the N and sum|m| of the normalisers.
func trainedCounts(prompts []*Prompt) (n, tokens int) {
	for _, p := range prompts {
		for i := range p.Trajs {
			if t := &p.Trajs[i]; t.Role == RoleTrain {
				n++
				tokens += t.MaskEnd - t.MaskStart
			}
		}
	}
	return n, tokens
}

// tokenNorm is the normaliser of one trained token of a trajectory with m
// trained tokens, in a batch of n trained trajectories holding tokens
// trained tokens: the weight of the token is its advantage times this.
func tokenNorm(cfg Config, m, n, tokens int) float64 {
	switch cfg.Norm {
	case NormTokenMean:
		return 1 / float64(tokens)
	case NormSeqSum:
		return 1 / float64(cfg.MaxLen*n)
	default:
		return 1 / float64(m*n)
	}
}
