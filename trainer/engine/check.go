package engine

import (
	"errors"
	"fmt"
	"math"
)

// Limits are the bounds a model puts on what it is given: token ids in
// [0, VocabSize) and at most MaxPositions tokens in a sequence. Engines
// check every request and batch against them before doing any work, so
// that a bad input is refused with the same message by every engine and
// never half-applied.
type Limits struct {
	VocabSize    int
	MaxPositions int
}

// CheckRequests checks every request of a Generate call: a non-empty
// prompt, ids in the vocabulary, prompt+prefix within the context (a
// prompt+prefix that fills the context exactly is allowed and ends at once
// with StopWindow), max_new_tokens > 0, temperature >= 0, top_p in [0, 1],
// top_k >= 0 and no empty stop string. The error names the first bad
// request and all of its faults.
func (l Limits) CheckRequests(reqs []GenRequest) error {
	for i, r := range reqs {
		if err := l.checkRequest(r); err != nil {
			return fmt.Errorf("generate: request %d: %w", i, err)
		}
	}
	return nil
}

func (l Limits) checkRequest(r GenRequest) error {
	s := r.Sampling
	var errs []error
	if len(r.Prompt) == 0 {
		errs = append(errs, errors.New("prompt is empty"))
	}
	for _, ids := range [][]int{r.Prompt, r.Prefix} {
		for _, id := range ids {
			if id < 0 || id >= l.VocabSize {
				errs = append(errs, fmt.Errorf("token id %d outside the vocabulary [0, %d)", id, l.VocabSize))
				break
			}
		}
	}
	if n := len(r.Prompt) + len(r.Prefix); n > l.MaxPositions {
		errs = append(errs, fmt.Errorf("prompt+prefix is %d tokens, longer than the context of %d", n, l.MaxPositions))
	}
	if s.MaxNewTokens <= 0 {
		errs = append(errs, fmt.Errorf("max_new_tokens = %d: must be > 0", s.MaxNewTokens))
	}
	if !(s.Temperature >= 0) {
		errs = append(errs, fmt.Errorf("temperature = %v: must be >= 0", s.Temperature))
	}
	if !(s.TopP >= 0 && s.TopP <= 1) {
		errs = append(errs, fmt.Errorf("top_p = %v: must be in [0, 1]", s.TopP))
	}
	if s.TopK < 0 {
		errs = append(errs, fmt.Errorf("top_k = %d: must be >= 0", s.TopK))
	}
	for _, st := range s.StopStrings {
		if st == "" {
			errs = append(errs, errors.New("empty stop string"))
		}
	}
	return errors.Join(errs...)
}

// CheckSeqs checks the sequences of a LogProbs, Logits or Update call (op
// names the call in the error): each non-empty, within the context, with
// ids in the vocabulary.
func (l Limits) CheckSeqs(op string, seqs [][]int) error {
	for i, s := range seqs {
		if len(s) == 0 {
			return fmt.Errorf("%s: sequence %d is empty", op, i)
		}
		if len(s) > l.MaxPositions {
			return fmt.Errorf("%s: sequence %d has %d tokens, longer than the context of %d", op, i, len(s), l.MaxPositions)
		}
		for t, id := range s {
			if id < 0 || id >= l.VocabSize {
				return fmt.Errorf("%s: sequence %d position %d: token id %d outside the vocabulary [0, %d)", op, i, t, id, l.VocabSize)
			}
		}
	}
	return nil
}

// CheckBatch checks an Update batch: a known loss (LossClip with clip_low
// in [0, 1) and clip_high >= 0), one finite weight per token with
// weights[0] = 0, old log-probs for every token under LossClip, and the
// sequences as CheckSeqs does. An empty batch passes; an engine that
// cannot take one refuses it itself.
func (l Limits) CheckBatch(b Batch) error {
	switch b.Loss {
	case LossPG:
	case LossClip:
		if !(b.ClipLow >= 0 && b.ClipLow < 1) || !(b.ClipHigh >= 0) {
			return fmt.Errorf("update: clip_low = %v, clip_high = %v: want clip_low in [0, 1) and clip_high >= 0", b.ClipLow, b.ClipHigh)
		}
	default:
		return fmt.Errorf("update: loss %q: want %q or %q", b.Loss, LossPG, LossClip)
	}
	seqs := make([][]int, len(b.Seqs))
	for i, s := range b.Seqs {
		seqs[i] = s.Tokens
		if len(s.Weights) != len(s.Tokens) {
			return fmt.Errorf("update: sequence %d: %d weights for %d tokens", i, len(s.Weights), len(s.Tokens))
		}
		if len(s.Weights) > 0 && s.Weights[0] != 0 {
			return fmt.Errorf("update: sequence %d: weights[0] = %v, must be 0 (no prediction for the first token)", i, s.Weights[0])
		}
		if b.Loss == LossClip && len(s.OldLogProbs) != len(s.Tokens) {
			return fmt.Errorf("update: sequence %d: loss clip needs old_logprobs for every token (%d for %d tokens)", i, len(s.OldLogProbs), len(s.Tokens))
		}
		for t, w := range s.Weights {
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return fmt.Errorf("update: sequence %d: weights[%d] = %v", i, t, w)
			}
		}
	}
	return l.CheckSeqs("update", seqs)
}
