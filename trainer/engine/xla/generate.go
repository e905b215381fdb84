package xla

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/decode"
)

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

// row is one request in a decoding wave.
type row struct {
	decode.Stream
	req int
}

// Generate implements engine.Policy. Requests run in waves of up to
// max_batch rows (padded to a power of two): one prefill pass over the
// wave's prompts, then one decoding step per token until every row has
// stopped. Each row draws its uniforms from its own PCG stream seeded by
// the request seed, and the device samples with them, so a request's
// tokens do not depend on the rest of the batch.
func (p *Policy) Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	if err := p.limits().CheckRequests(reqs); err != nil {
		return nil, err
	}
	results := make([]engine.GenResult, len(reqs))
	var wave []*row
	for i, r := range reqs {
		rw := &row{Stream: decode.Start(r, p.cfg.MaxPositions), req: i}
		if rw.Done { // the prompt fills the context
			results[i] = rw.Result(p.tok.Decode)
			continue
		}
		wave = append(wave, rw)
		if len(wave) == p.maxBatch {
			if err := p.runWave(ctx, reqs, wave, results); err != nil {
				return nil, err
			}
			wave = nil
		}
	}
	if len(wave) > 0 {
		if err := p.runWave(ctx, reqs, wave, results); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (p *Policy) runWave(ctx context.Context, reqs []engine.GenRequest, rows []*row, results []engine.GenResult) error {
	B := batchBucket(len(rows))
	maxPrompt, maxSpan := 0, 0
	filter := false
	for _, rw := range rows {
		r := reqs[rw.req]
		n := rw.CtxLen
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
		lens[i] = int32(rw.CtxLen)
		temp[i], topK[i], topP[i] = r.Sampling.Temperature, int32(r.Sampling.TopK), r.Sampling.TopP
	}
	uniforms := func() *tensors.Tensor {
		u := make([]float32, B)
		for i, rw := range rows {
			if temp[i] > 0 && !rw.Done {
				u[i] = float32(rw.Rand.Float64())
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
			if !rw.Done {
				tok := int(next[i])
				rw.Add(tok, lps[i], p.tok.TokenBytes(tok))
			}
			pos[i] = int32(min(rw.CtxLen-1, S-1))
			active = active || !rw.Done
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
		results[rw.req] = rw.Result(p.tok.Decode)
	}
	return nil
}
