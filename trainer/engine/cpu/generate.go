package cpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// genState is one request occupying a batch slot.
type genState struct {
	req     int
	cache   *kvCache
	rng     *rand.Rand
	ctxLen  int // prompt + prefix + generated so far
	pending []int
	out     engine.GenResult
	text    []byte // bytes of the new tokens, for stop strings
	done    bool
}

// seedStream is the PCG stream constant of request RNGs: a request's
// random numbers depend on its seed only.
const seedStream = 0x5eed_5eed_5eed_5eed

func (p *Policy) validateRequest(i int, r engine.GenRequest) error {
	s := r.Sampling
	var errs []error
	if len(r.Prompt) == 0 {
		errs = append(errs, errors.New("prompt is empty"))
	}
	for _, ids := range [][]int{r.Prompt, r.Prefix} {
		for _, id := range ids {
			if id < 0 || id >= p.cfg.VocabSize {
				errs = append(errs, fmt.Errorf("token id %d outside the vocabulary [0, %d)", id, p.cfg.VocabSize))
				break
			}
		}
	}
	if n := len(r.Prompt) + len(r.Prefix); n > p.cfg.MaxPositions {
		errs = append(errs, fmt.Errorf("prompt+prefix is %d tokens, longer than the context of %d", n, p.cfg.MaxPositions))
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
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("generate: request %d: %w", i, err)
	}
	return nil
}

// Generate implements engine.Policy with continuous batching: up to
// MaxBatch requests are in flight; when one finishes, its slot (and KV
// cache) takes the next request in order. Each request samples from its own
// random stream (seeded by GenRequest.Seed); with the gonum BLAS its
// tokens and log-probs are bit-identical whatever shares the batch, with
// OpenBLAS to rounding (see docs/engine-cpu.md).
func (p *Policy) Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	for i, r := range reqs {
		if err := p.validateRequest(i, r); err != nil {
			return nil, err
		}
	}
	results := make([]engine.GenResult, len(reqs))
	nslots := min(p.maxBatch, len(reqs))
	caches := make([]*kvCache, nslots)
	for i := range caches {
		caches[i] = &kvCache{}
	}
	free := slices.Clone(caches)
	var active []*genState
	next := 0
	var segs []inferSeg
	var logits []float32
	var bufs [][]candidate // per worker
	var toks []int
	var lps []float32
	for next < len(reqs) || len(active) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for len(free) > 0 && next < len(reqs) {
			r := reqs[next]
			st := &genState{req: next, rng: rand.New(rand.NewPCG(r.Seed, seedStream))}
			st.pending = append(append([]int{}, r.Prompt...), r.Prefix...)
			st.ctxLen = len(st.pending)
			st.out.Tokens, st.out.LogProbs = []int{}, []float32{}
			next++
			if st.ctxLen >= p.cfg.MaxPositions {
				st.out.Reason = engine.StopWindow
				results[st.req] = st.out
				continue
			}
			st.cache = free[len(free)-1]
			free = free[:len(free)-1]
			st.cache.reset(p.net.dm, min(p.cfg.MaxPositions, st.ctxLen+r.Sampling.MaxNewTokens))
			active = append(active, st)
		}
		if len(active) == 0 {
			continue
		}
		segs = segs[:0]
		for _, st := range active {
			segs = append(segs, inferSeg{cache: st.cache, tokens: st.pending})
		}
		logits = grow(logits, len(segs)*p.cfg.VocabSize)
		p.net.step(&p.ws, segs, logits)
		V := p.cfg.VocabSize
		// Each request draws from its own stream, so sampling the slots
		// in parallel gives the same tokens as in order.
		for len(bufs) < workers() {
			bufs = append(bufs, nil)
		}
		toks = append(toks[:0], make([]int, len(active))...)
		lps = append(lps[:0], make([]float32, len(active))...)
		parFor(len(active), 8, func(w, lo, hi int) {
			for i := lo; i < hi; i++ {
				st := active[i]
				toks[i], lps[i], bufs[w] = sampleToken(logits[i*V:(i+1)*V], reqs[st.req].Sampling, st.rng, bufs[w])
			}
		})
		kept := active[:0]
		for i, st := range active {
			r := reqs[st.req]
			tok := toks[i]
			p.advance(st, r, tok, lps[i])
			if st.done {
				st.out.Text = p.tok.Decode(st.out.Tokens)
				results[st.req] = st.out
				free = append(free, st.cache)
				continue
			}
			st.pending = []int{tok}
			kept = append(kept, st)
		}
		active = kept
	}
	return results, nil
}

// advance records a sampled token and decides whether st is finished.
func (p *Policy) advance(st *genState, r engine.GenRequest, tok int, lp float32) {
	st.out.Tokens = append(st.out.Tokens, tok)
	st.out.LogProbs = append(st.out.LogProbs, lp)
	st.ctxLen++
	old := len(st.text)
	st.text = append(st.text, p.tok.TokenBytes(tok)...)
	switch {
	case slices.Contains(r.Sampling.StopTokens, tok):
		st.out.Reason = engine.StopToken
	case containsStop(st.text, old, r.Sampling.StopStrings):
		st.out.Reason = engine.StopString
	case len(st.out.Tokens) >= r.Sampling.MaxNewTokens:
		st.out.Reason = engine.StopLength
	case st.ctxLen >= p.cfg.MaxPositions:
		st.out.Reason = engine.StopWindow
	default:
		return
	}
	st.done = true
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
