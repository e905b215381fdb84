package algo

import (
	"fmt"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// SeqRef names the trajectory behind one sequence of a batch.
type SeqRef struct {
	Prompt int // index in the prompts passed to BuildBatch
	Traj   int // index in that prompt's Trajs
}

// BuildBatch turns the RoleTrain trajectories of assembled prompts into
// one engine batch whose per-token weights implement cfg's loss:
//
//	L = -sum_i sum_{t in m_i} w_i * log pi(y_t)   (pg)
//
// with w_i = A_i/(|m_i| N) (seq-mean), A_i/sum_j|m_j| (token-mean) or
// A_i/(MaxLen N) (seq-sum), where N counts the trained trajectories and
// m_i is trajectory i's loss mask. The clipped loss uses the same weights
// with the sampling-time log-probs as OldLogProbs. Trajectories whose
// advantage is 0 still count in N and are included (they carry no
// gradient but keep the normaliser honest); a trained trajectory with an
// empty mask counts in N and is left out of the batch.
//
// Sequences are the prompt's ids followed by the response tokens; prompt
// positions have weight 0. refs[i] says where Seqs[i] came from. An empty
// batch (no trained trajectory) has no Seqs: skip the update.
func BuildBatch(prompts []*Prompt, cfg Config) (b engine.Batch, refs []SeqRef, err error) {
	if err := cfg.Validate(); err != nil {
		return engine.Batch{}, nil, err
	}
	b = engine.Batch{Loss: cfg.Loss, ClipLow: cfg.ClipLow, ClipHigh: cfg.ClipHigh}
	n, tokens := 0, 0
	for _, p := range prompts {
		for i := range p.Trajs {
			if t := &p.Trajs[i]; t.Role == RoleTrain {
				if t.MaskStart < 0 || t.MaskEnd > len(t.Tokens) || t.MaskStart > t.MaskEnd {
					return engine.Batch{}, nil, fmt.Errorf("algo: prompt %d trajectory %d: mask [%d, %d) outside its %d tokens", p.Index, i, t.MaskStart, t.MaskEnd, len(t.Tokens))
				}
				n++
				tokens += t.MaskEnd - t.MaskStart
			}
		}
	}
	for pi, p := range prompts {
		if len(p.PromptIDs) == 0 {
			if hasTrained(p) {
				return engine.Batch{}, nil, fmt.Errorf("algo: prompt %d (task %q) has no prompt ids", p.Index, p.TaskID)
			}
			continue
		}
		for i := range p.Trajs {
			t := &p.Trajs[i]
			m := t.MaskEnd - t.MaskStart
			if t.Role != RoleTrain || m == 0 {
				continue
			}
			var w float64
			switch cfg.Norm {
			case NormSeqMean:
				w = t.Advantage / float64(m*n)
			case NormTokenMean:
				w = t.Advantage / float64(tokens)
			case NormSeqSum:
				w = t.Advantage / float64(cfg.MaxLen*n)
			}
			off := len(p.PromptIDs)
			seq := engine.Sequence{
				Tokens:  append(append(make([]int, 0, off+len(t.Tokens)), p.PromptIDs...), t.Tokens...),
				Weights: make([]float32, off+len(t.Tokens)),
			}
			for k := t.MaskStart; k < t.MaskEnd; k++ {
				seq.Weights[off+k] = float32(w)
			}
			if cfg.Loss == engine.LossClip {
				if len(t.LogProbs) != len(t.Tokens) {
					return engine.Batch{}, nil, fmt.Errorf("algo: prompt %d trajectory %d: %d log-probs for %d tokens; the clipped loss needs the sampling-time log-prob of every token", p.Index, i, len(t.LogProbs), len(t.Tokens))
				}
				seq.OldLogProbs = make([]float32, off+len(t.Tokens))
				copy(seq.OldLogProbs[off:], t.LogProbs)
			}
			b.Seqs = append(b.Seqs, seq)
			refs = append(refs, SeqRef{Prompt: pi, Traj: i})
		}
	}
	return b, refs, nil
}

func hasTrained(p *Prompt) bool {
	for i := range p.Trajs {
		if p.Trajs[i].Role == RoleTrain && p.Trajs[i].MaskEnd > p.Trajs[i].MaskStart {
			return true
		}
	}
	return false
}
