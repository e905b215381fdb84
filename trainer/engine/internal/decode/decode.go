// Package decode holds what every engine's Generate does the same way
// around its forward passes: each request's random stream, and the
// bookkeeping of a continuation (tokens, log-probs, stop rules and their
// precedence). Engines differ in how they batch and compute logits; a
// request's tokens must not, which is why this lives in one place.
package decode

import (
	"bytes"
	"math/rand/v2"
	"slices"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// seedStream is the PCG stream constant of request RNGs: a request's
// random numbers depend on its seed only.
const seedStream = 0x5eed_5eed_5eed_5eed

// Stream is one request's continuation while it is generated. An engine
// samples a token from Rand for every stream that is not Done and hands
// it to Add; once Done, Result is the request's answer.
type Stream struct {
	// Rand is the request's own random stream, seeded by GenRequest.Seed
	// only, so its tokens do not depend on what else shares the batch.
	Rand *rand.Rand
	// CtxLen counts the tokens in context: prompt, prefix and the new
	// tokens so far.
	CtxLen int
	// Done is set once a stop rule fires; Out.Reason says which.
	Done bool
	// Out holds the new tokens and their log-probs (Text is filled by
	// Result).
	Out engine.GenResult

	sampling engine.Sampling
	window   int
	text     []byte // bytes of the new tokens, for stop strings
}

// Start begins the continuation of r on a model whose context holds
// window tokens. A prompt+prefix that already fills the window is Done at
// once with StopWindow and no tokens. Tokens and LogProbs start non-nil,
// so an empty result encodes as [] rather than null (Entropies too).
func Start(r engine.GenRequest, window int) Stream {
	s := Stream{
		Rand:     rand.New(rand.NewPCG(r.Seed, seedStream)),
		CtxLen:   len(r.Prompt) + len(r.Prefix),
		Out:      engine.GenResult{Tokens: []int{}, LogProbs: []float32{}, Entropies: []float32{}},
		sampling: r.Sampling,
		window:   window,
	}
	if s.CtxLen >= window {
		s.Out.Reason, s.Done = engine.StopWindow, true
	}
	return s
}

// Add records a sampled token (tokBytes is its decoding, lp its log-prob
// and ent the entropy of its distribution, both at temperature 1) and applies the stop rules in this order: a stop token,
// a stop string ending in the new bytes (the stop text is kept), the
// max_new_tokens budget, the context window.
func (s *Stream) Add(tok int, lp, ent float32, tokBytes []byte) {
	s.Out.Tokens = append(s.Out.Tokens, tok)
	s.Out.LogProbs = append(s.Out.LogProbs, lp)
	s.Out.Entropies = append(s.Out.Entropies, ent)
	s.CtxLen++
	old := len(s.text)
	s.text = append(s.text, tokBytes...)
	switch {
	case slices.Contains(s.sampling.StopTokens, tok):
		s.Out.Reason = engine.StopToken
	case containsStop(s.text, old, s.sampling.StopStrings):
		s.Out.Reason = engine.StopString
	case len(s.Out.Tokens) >= s.sampling.MaxNewTokens:
		s.Out.Reason = engine.StopLength
	case s.CtxLen >= s.window:
		s.Out.Reason = engine.StopWindow
	default:
		return
	}
	s.Done = true
}

// Result is the finished continuation with Text decoded by decode (the
// policy's tokenizer); a stream stopped by Start has empty Text.
func (s *Stream) Result(decode func([]int) string) engine.GenResult {
	out := s.Out
	if len(out.Tokens) > 0 {
		out.Text = decode(out.Tokens)
	}
	return out
}

// containsStop reports whether a stop string ends within the bytes added
// after old (earlier matches would already have stopped generation).
func containsStop(text []byte, old int, stops []string) bool {
	for _, s := range stops {
		from := max(0, old-len(s)+1)
		if bytes.Contains(text[from:], []byte(s)) {
			return true
		}
	}
	return false
}
