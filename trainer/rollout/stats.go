package rollout

import (
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
)

// StepStats returns the statistics of each of t's steps that localizers
// receive (abi.LocalizeRequest.StepStats): the mean and minimum
// sampling-time log-prob of the step's tokens and, when the engine
// reported entropies, their mean entropy. It needs no forward pass: the
// values were kept at sampling time. It returns nil when t has no
// log-prob per token. A step with no token of its own (a whole-mode step
// that lies inside one token) gets Tokens 0 and zero statistics.
func StepStats(t *algo.Trajectory) []abi.StepStats {
	if len(t.Steps) == 0 || len(t.LogProbs) != len(t.Tokens) {
		return nil
	}
	withEnt := len(t.Entropies) == len(t.Tokens)
	out := make([]abi.StepStats, len(t.Steps))
	for k, sp := range t.Steps {
		lo, hi := max(sp.Start, 0), min(sp.End, len(t.Tokens))
		if hi <= lo {
			continue
		}
		st := abi.StepStats{Tokens: hi - lo, MinLogProb: float64(t.LogProbs[lo])}
		var sum, ent float64
		for i := lo; i < hi; i++ {
			lp := float64(t.LogProbs[i])
			sum += lp
			st.MinLogProb = min(st.MinLogProb, lp)
			if withEnt {
				ent += float64(t.Entropies[i])
			}
		}
		st.MeanLogProb = sum / float64(st.Tokens)
		if withEnt {
			h := ent / float64(st.Tokens)
			st.MeanEntropy = &h
		}
		out[k] = st
	}
	return out
}
