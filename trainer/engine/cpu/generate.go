package cpu

import (
	"context"
	"slices"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/decode"
)

// genState is one request occupying a batch slot.
type genState struct {
	decode.Stream
	req     int
	cache   *kvCache
	pending []int // tokens to feed at the next step
}

// Generate implements engine.Policy with continuous batching: up to
// MaxBatch requests are in flight; when one finishes, its slot (and KV
// cache) takes the next request in order. Each request samples from its own
// random stream (seeded by GenRequest.Seed); with the gonum BLAS its
// tokens and log-probs are bit-identical whatever shares the batch, with
// OpenBLAS to rounding (see "Determinism" in doc.go).
func (p *Policy) Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	if err := p.limits().CheckRequests(reqs); err != nil {
		return nil, err
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
	var lps, ents []float32
	for next < len(reqs) || len(active) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for len(free) > 0 && next < len(reqs) {
			r := reqs[next]
			st := &genState{Stream: decode.Start(r, p.cfg.MaxPositions), req: next}
			next++
			if st.Done {
				results[st.req] = st.Out
				continue
			}
			st.pending = append(append([]int{}, r.Prompt...), r.Prefix...)
			st.cache = free[len(free)-1]
			free = free[:len(free)-1]
			st.cache.reset(p.net.dm, min(p.cfg.MaxPositions, st.CtxLen+r.Sampling.MaxNewTokens))
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
		ents = append(ents[:0], make([]float32, len(active))...)
		parFor(len(active), 8, func(w, lo, hi int) {
			for i := lo; i < hi; i++ {
				st := active[i]
				toks[i], lps[i], ents[i], bufs[w] = sampleToken(logits[i*V:(i+1)*V], reqs[st.req].Sampling, st.Rand, bufs[w])
			}
		})
		kept := active[:0]
		for i, st := range active {
			tok := toks[i]
			st.Add(tok, lps[i], ents[i], p.tok.TokenBytes(tok))
			if st.Done {
				results[st.req] = st.Result(p.tok.Decode)
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
