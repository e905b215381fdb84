package xla

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// seedStream is the PCG stream constant of request RNGs (the CPU engine's):
// a request's random numbers depend on its seed only.
const seedStream = 0x5eed_5eed_5eed_5eed

// prefillGraph returns the prompt pass for caches of S positions. Inputs
// after the weights: tokens [B, T] (right-padded), lens [B], then the
// sampling inputs u, temp, topK, topP [B]. Outputs: key and value caches
// [L, B, S, KV, Dh], the first sampled token [B] and its log-prob [B].
func (p *Policy) prefillGraph(S int, filter bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		w, d := p.split(in)
		tokens, lens := d[0], d[1]
		g := tokens.Graph()
		B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
		var ks, vs []*Node
		pad := func(x *Node) *Node {
			if S == T {
				return x
			}
			sh := x.Shape().Clone()
			sh.Dimensions[1] = S - T
			return Concatenate([]*Node{x, Zeros(g, sh)}, 1)
		}
		io := func(_ int, k, v *Node) (*Node, *Node) {
			ks, vs = append(ks, pad(k)), append(vs, pad(v))
			return k, v
		}
		h := p.arch.hidden(w, tokens, positions(g, B, T), io)
		last := OneHot(AddScalar(lens, -1), T, h.DType()) // [B, T]
		hl := Einsum("bt,btd->bd", last, h)
		tok, lp := sampleRows(p.arch.logits(w, hl), d[2], d[3], d[4], d[5], filter)
		return []*Node{Stack(ks, 0), Stack(vs, 0), tok, lp}
	}
}

// decodeGraph is one decoding step. Inputs after the weights: caches
// [L, B, S, KV, Dh] (k, v), tokens [B], positions [B], then u, temp, topK,
// topP [B]. Each row's new key and value are written at its position;
// outputs the updated caches, the sampled token and its log-prob.
func (p *Policy) decodeGraph(filter bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		w, d := p.split(in)
		kc, vc, tokens, pos := d[0], d[1], d[2], d[3]
		g := tokens.Graph()
		B, S := kc.Shape().Dimensions[1], kc.Shape().Dimensions[2]
		at := Equal(Iota(g, shapes.Make(dtypes.Int32, B, S), 1), BroadcastToDims(ExpandAxes(pos, -1), B, S))
		at = Reshape(at, B, S, 1, 1)
		var ks, vs []*Node
		io := func(l int, k, v *Node) (*Node, *Node) {
			kl := Squeeze(SliceAxis(kc, 0, AxisElem(l)), 0)
			vl := Squeeze(SliceAxis(vc, 0, AxisElem(l)), 0)
			kl = Where(BroadcastToShape(at, kl.Shape()), BroadcastToShape(k, kl.Shape()), kl)
			vl = Where(BroadcastToShape(at, vl.Shape()), BroadcastToShape(v, vl.Shape()), vl)
			ks, vs = append(ks, kl), append(vs, vl)
			return kl, vl
		}
		h := p.arch.hidden(w, ExpandAxes(tokens, -1), ExpandAxes(pos, -1), io)
		tok, lp := sampleRows(p.arch.logits(w, Squeeze(h, 1)), d[4], d[5], d[6], d[7], filter)
		return []*Node{Stack(ks, 0), Stack(vs, 0), tok, lp}
	}
}

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

// row is one request in a decoding wave.
type row struct {
	req    int
	rng    *rand.Rand
	ctxLen int
	text   []byte
	out    engine.GenResult
	done   bool
}

// Generate implements engine.Policy. Requests run in waves of up to
// max_batch rows (padded to a power of two): one prefill pass over the
// wave's prompts, then one decoding step per token until every row has
// stopped. Each row draws its uniforms from its own PCG stream seeded by
// the request seed, and the device samples with them, so a request's
// tokens do not depend on the rest of the batch.
func (p *Policy) Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	for i, r := range reqs {
		if err := p.validateRequest(i, r); err != nil {
			return nil, err
		}
	}
	results := make([]engine.GenResult, len(reqs))
	var wave []int
	for i, r := range reqs {
		if len(r.Prompt)+len(r.Prefix) >= p.cfg.MaxPositions {
			results[i] = engine.GenResult{Tokens: []int{}, LogProbs: []float32{}, Reason: engine.StopWindow}
			continue
		}
		wave = append(wave, i)
		if len(wave) == p.maxBatch {
			if err := p.runWave(ctx, reqs, wave, results); err != nil {
				return nil, err
			}
			wave = wave[:0]
		}
	}
	if len(wave) > 0 {
		if err := p.runWave(ctx, reqs, wave, results); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (p *Policy) runWave(ctx context.Context, reqs []engine.GenRequest, idx []int, results []engine.GenResult) error {
	B := batchBucket(len(idx))
	rows := make([]*row, len(idx))
	maxPrompt, maxSpan := 0, 0
	filter := false
	for i, ri := range idx {
		r := reqs[ri]
		n := len(r.Prompt) + len(r.Prefix)
		rows[i] = &row{req: ri, rng: rand.New(rand.NewPCG(r.Seed, seedStream)), ctxLen: n,
			out: engine.GenResult{Tokens: []int{}, LogProbs: []float32{}}}
		maxPrompt = max(maxPrompt, n)
		maxSpan = max(maxSpan, min(p.cfg.MaxPositions, n+r.Sampling.MaxNewTokens))
		s := r.Sampling
		if s.Temperature > 0 && (s.TopK > 0 || (s.TopP > 0 && s.TopP < 1)) {
			filter = true
		}
	}
	T := lenBucket(maxPrompt, p.cfg.MaxPositions)
	S := max(T, lenBucket(maxSpan, p.cfg.MaxPositions))
	tokens, lens := make([]int32, B*T), make([]int32, B)
	temp, topK, topP := make([]float32, B), make([]int32, B), make([]float32, B)
	for i := range lens {
		lens[i] = 1
	}
	for i, rw := range rows {
		r := reqs[rw.req]
		for t, id := range append(slices.Clone(r.Prompt), r.Prefix...) {
			tokens[i*T+t] = int32(id)
		}
		lens[i] = int32(rw.ctxLen)
		temp[i], topK[i], topP[i] = r.Sampling.Temperature, int32(r.Sampling.TopK), r.Sampling.TopP
	}
	uniforms := func() *tensors.Tensor {
		u := make([]float32, B)
		for i, rw := range rows {
			if temp[i] > 0 && !rw.done {
				u[i] = float32(rw.rng.Float64())
			}
		}
		return tensors.FromFlatDataAndDimensions(u, B)
	}
	samp := func() []*tensors.Tensor {
		return []*tensors.Tensor{uniforms(), tensors.FromFlatDataAndDimensions(temp, B),
			tensors.FromFlatDataAndDimensions(topK, B), tensors.FromFlatDataAndDimensions(topP, B)}
	}
	tk := tensors.FromFlatDataAndDimensions(tokens, B, T)
	args := append(append(p.weightArgs(), tk, tensors.FromFlatDataAndDimensions(lens, B)), samp()...)
	res, err := p.ex.run(fmt.Sprintf("prefill-S%d-filter=%v", S, filter), dimsKey(tk), p.prefillGraph(S, filter), args)
	if err != nil {
		return err
	}
	kc, vc := res[0], res[1]
	defer func() { free([]*tensors.Tensor{kc, vc}) }()
	for {
		next, err := tensors.CopyFlatData[int32](res[2])
		if err != nil {
			return err
		}
		lps, err := toHost(res[3])
		if err != nil {
			return err
		}
		free(res[2:])
		active := false
		pos := make([]int32, B)
		for i, rw := range rows {
			if !rw.done {
				p.advance(rw, reqs[rw.req], int(next[i]), lps[i])
			}
			pos[i] = int32(min(rw.ctxLen-1, S-1))
			active = active || !rw.done
		}
		if !active {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		args := append(append(p.weightArgs(), kc, vc, tensors.FromFlatDataAndDimensions(next, B), tensors.FromFlatDataAndDimensions(pos, B)), samp()...)
		res, err = p.ex.run(fmt.Sprintf("decode-filter=%v", filter), dimsKey(kc), p.decodeGraph(filter), args)
		if err != nil {
			return err
		}
		free([]*tensors.Tensor{kc, vc})
		kc, vc = res[0], res[1]
	}
	for _, rw := range rows {
		rw.out.Text = p.tok.Decode(rw.out.Tokens)
		results[rw.req] = rw.out
	}
	return nil
}

// advance records a sampled token and decides whether the row is finished
// (same rules and precedence as the CPU engine).
func (p *Policy) advance(rw *row, r engine.GenRequest, tok int, lp float32) {
	rw.out.Tokens = append(rw.out.Tokens, tok)
	rw.out.LogProbs = append(rw.out.LogProbs, lp)
	rw.ctxLen++
	old := len(rw.text)
	rw.text = append(rw.text, p.tok.TokenBytes(tok)...)
	switch {
	case slices.Contains(r.Sampling.StopTokens, tok):
		rw.out.Reason = engine.StopToken
	case containsStop(rw.text, old, r.Sampling.StopStrings):
		rw.out.Reason = engine.StopString
	case len(rw.out.Tokens) >= r.Sampling.MaxNewTokens:
		rw.out.Reason = engine.StopLength
	case rw.ctxLen >= p.cfg.MaxPositions:
		rw.out.Reason = engine.StopWindow
	default:
		return
	}
	rw.done = true
}

// containsStop reports whether a stop string ends within the bytes added
// after old.
func containsStop(text []byte, old int, stops []string) bool {
	for _, s := range stops {
		from := max(0, old-len(s)+1)
		if bytes.Contains(text[from:], []byte(s)) {
			return true
		}
	}
	return false
}
