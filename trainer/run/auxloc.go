package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// auxLoc is the auxiliary localization loss (algo.aux_loc_coef): every
// step adds algo.aux_loc_batch localization examples to the batch with
// an SFT weight on their completion tokens, so that RL does not wear
// away the policy's ability to name its first wrong step.
type auxLoc struct {
	coef  float64
	batch int
	seqs  []auxSeq
}

// auxSeq is one tokenised example: the prompt's ids, then the
// completion's.
type auxSeq struct {
	tokens []int
	start  int // first completion token
}

// AuxStats is what the auxiliary loss reports in a metrics line.
type AuxStats struct {
	// Examples and Tokens count the step's examples and completion tokens.
	Examples int `json:"examples"`
	Tokens   int `json:"tokens"`
	// NLL is the mean negative log-likelihood of the completion tokens
	// before the update: how well the policy still localizes.
	NLL float64 `json:"nll"`
}

// openAuxLoc reads algo.aux_loc_data: one {"prompt", "completion"}
// object per line, both non-empty.
func openAuxLoc(c Config, tok tokenizer.Tokenizer) (*auxLoc, error) {
	path := c.Algo.AuxLocData
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("algo.aux_loc_data: %w", err)
	}
	a := &auxLoc{coef: c.Algo.AuxLocCoef, batch: c.Algo.AuxLocBatch}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ex struct {
			Prompt     string `json:"prompt"`
			Completion string `json:"completion"`
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&ex); err != nil {
			return nil, fmt.Errorf("algo.aux_loc_data: %s:%d: %w", path, line, err)
		}
		if ex.Prompt == "" || ex.Completion == "" {
			return nil, fmt.Errorf("algo.aux_loc_data: %s:%d: want a non-empty \"prompt\" and \"completion\"", path, line)
		}
		p, comp := tok.Encode(ex.Prompt), tok.Encode(ex.Completion)
		if len(p) == 0 {
			return nil, fmt.Errorf("algo.aux_loc_data: %s:%d: the prompt encodes to no tokens", path, line)
		}
		a.seqs = append(a.seqs, auxSeq{tokens: append(p, comp...), start: len(p)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("algo.aux_loc_data: %s: %w", path, err)
	}
	if len(a.seqs) == 0 {
		return nil, errors.New("algo.aux_loc_data: " + path + " holds no examples")
	}
	return a, nil
}

// add appends the examples of step (0-based) to b: examples
// step*batch .. step*batch+batch-1, cycling through the file, so a
// resumed run adds the same ones. Each completion token gets weight
// coef/T, T the step's completion tokens: the loss gains coef times their
// mean negative log-likelihood. The clipped loss needs old log-probs,
// which are the current policy's (one update per batch).
func (a *auxLoc) add(ctx context.Context, pol engine.Policy, b *engine.Batch, step int) (AuxStats, error) {
	var st AuxStats
	picked := make([]auxSeq, a.batch)
	seqs := make([][]int, a.batch)
	for i := range picked {
		picked[i] = a.seqs[(step*a.batch+i)%len(a.seqs)]
		seqs[i] = picked[i].tokens
		st.Tokens += len(picked[i].tokens) - picked[i].start
	}
	st.Examples = len(picked)
	lps, err := pol.LogProbs(ctx, seqs)
	if err != nil {
		return st, fmt.Errorf("aux_loc: log-probs: %w", err)
	}
	w := float32(a.coef / float64(max(st.Tokens, 1)))
	var nll float64
	for i, s := range picked {
		seq := engine.Sequence{Tokens: s.tokens, Weights: make([]float32, len(s.tokens))}
		for t := s.start; t < len(s.tokens); t++ {
			seq.Weights[t] = w
			nll -= float64(lps[i][t])
		}
		if b.Loss == engine.LossClip {
			seq.OldLogProbs = lps[i]
		}
		b.Seqs = append(b.Seqs, seq)
	}
	if st.Tokens > 0 {
		st.NLL = nll / float64(st.Tokens)
	}
	return st, nil
}
