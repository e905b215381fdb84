package xla

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 graph code reads like math with GoMLX's ops unqualified, as GoMLX's own examples write it
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/decode"
)

// prefillGraph returns the prompt pass for caches of S positions. Inputs
// after the weights: tokens [B, T] (right-padded), lens [B], then the
// sampling inputs u, temp, topK, topP [B]. Outputs: key and value caches
// [L, B, S, KV, Dh] (positions at or past a row's length hold padding),
// the first sampled token [B], its log-prob [B] and its distribution's
// entropy [B].
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
		io := func(_ int, q, k, v, pos *Node) *Node {
			ks, vs = append(ks, pad(k)), append(vs, pad(v))
			return p.arch.attention(q, k, v, pos)
		}
		h := p.arch.hidden(w, tokens, positions(g, B, T), io)
		last := OneHot(AddScalar(lens, -1), T, h.DType()) // [B, T]
		hl := Einsum("bt,btd->bd", last, h)
		tok, lp, ent := sampleRows(p.arch.logits(w, hl), d[2], d[3], d[4], d[5], filter)
		return []*Node{Stack(ks, 0), Stack(vs, 0), tok, lp, ent}
	}
}

// decodeGraph is one decoding step. Inputs after the weights: the main
// caches [L, B, S, KV, Dh] (k, v), read only; the rings [L, B, R, KV, Dh]
// (k, v) of the positions not yet flushed into them; tokens [B], their
// positions [B], mainLen [B] (the main cache is valid below it), ringPos
// [B, R] (the position in each ring slot, -1 for none, this step's
// included), slot (int32 scalar: the ring slot this step writes), then u,
// temp, topK, topP [B]. Each row's new key and value go into the ring at
// slot; outputs the updated rings, the sampled token and its log-prob.
//
// The main cache is not an output, so a step copies only the rings (R of
// the S positions). XLA cannot update an input in place here: GoMLX
// v0.26 emits no input/output aliasing, so an output cache would be a
// full copy on every step (docs/bench/xla.md).
func (p *Policy) decodeGraph(filter bool) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		w, d := p.split(in)
		kc, vc, kr, vr := d[0], d[1], d[2], d[3]
		tokens, pos, mainLen, ringPos, slot := d[4], d[5], d[6], d[7], d[8]
		g := tokens.Graph()
		dims := kr.Shape().Dimensions
		R := dims[2]
		layer := func(x *Node, l int) *Node { return Squeeze(SliceAxis(x, 0, AxisElem(l)), 0) }
		// The ring slot as a mask (GoMLX's pure-Go backend has no
		// DynamicUpdateSlice; the ring is small, so a Where costs little).
		at := Reshape(Equal(Iota(g, shapes.Make(dtypes.Int32, R), 0), BroadcastToDims(slot, R)), 1, R, 1, 1)
		put := func(ring, x *Node) *Node {
			sh := ring.Shape()
			return Where(BroadcastToShape(at, sh), BroadcastToShape(x, sh), ring)
		}
		var ks, vs []*Node
		io := func(l int, q, k, v, _ *Node) *Node {
			krl, vrl := put(layer(kr, l), k), put(layer(vr, l), v)
			ks, vs = append(ks, krl), append(vs, vrl)
			return p.arch.attendCached(q, layer(kc, l), layer(vc, l), krl, vrl, mainLen, ringPos)
		}
		h := p.arch.hidden(w, ExpandAxes(tokens, -1), ExpandAxes(pos, -1), io)
		tok, lp, ent := sampleRows(p.arch.logits(w, Squeeze(h, 1)), d[9], d[10], d[11], d[12], filter)
		return []*Node{Stack(ks, 0), Stack(vs, 0), tok, lp, ent}
	}
}

// flushGraph writes the rings into the main caches: inputs main [L, B, S,
// KV, Dh] (k, v), rings [L, B, R, KV, Dh] (k, v) and src [B, S] (int32:
// the ring slot holding position s of row b, -1 to keep the main value).
// Outputs the new main caches; a Gather and a Where, exact in any dtype.
func flushGraph(in []*Node) []*Node {
	kc, vc, kr, vr, src := in[0], in[1], in[2], in[3], in[4]
	g := kc.Graph()
	dims := kc.Shape().Dimensions
	L, B, S := dims[0], dims[1], dims[2]
	sh := shapes.Make(dtypes.Int32, L, B, S)
	srcL := BroadcastToDims(ExpandAxes(src, 0), L, B, S)
	idx := Stack([]*Node{Iota(g, sh, 0), Iota(g, sh, 1), MaxScalar(srcL, 0)}, -1) // [L, B, S, 3]
	use := BroadcastToShape(Reshape(GreaterOrEqual(srcL, ZerosLike(srcL)), L, B, S, 1, 1), kc.Shape())
	return []*Node{Where(use, Gather(kr, idx), kc), Where(use, Gather(vr, idx), vc)}
}

// mergeGraph replaces rows of the caches: inputs caches [L, B, S, KV, Dh]
// (k, v), fresh caches [L, Bn, S, KV, Dh] from a prefill, and src [B]
// (int32): output row b is row src[b] of the caches followed by the fresh
// ones (b itself to keep a row, B + j to take fresh row j). A Gather, so
// values are copied exactly in any dtype.
func mergeGraph(in []*Node) []*Node {
	kc, vc, kn, vn, src := in[0], in[1], in[2], in[3], in[4]
	g := kc.Graph()
	L, B := kc.Shape().Dimensions[0], kc.Shape().Dimensions[1]
	idx := Stack([]*Node{Iota(g, shapes.Make(dtypes.Int32, L, B), 0), BroadcastToDims(ExpandAxes(src, 0), L, B)}, -1)
	return []*Node{Gather(Concatenate([]*Node{kc, kn}, 1), idx), Gather(Concatenate([]*Node{vc, vn}, 1), idx)}
}

// row is one request being decoded.
type row struct {
	decode.Stream
	req int
}

// Generate implements engine.Policy with continuous batching: up to
// max_batch requests (padded to a power of two, B) decode together in
// slots of one KV cache; when a row stops, its slot is refilled from the
// waiting requests (a prefill of the newcomers, merged into the cache) as
// soon as a quarter of the slots are free, or at once when no row is
// left running, so short answers do not wait for the longest one. Each
// step writes into a small ring that is flushed into the read-only main
// cache every decode_ring steps (decodeGraph says why). The cache length
// and the top-k/top-p graph variant are chosen once for the call from all
// its requests, so every request fits every slot. Each row
// draws its uniforms from its own PCG stream seeded by the request seed,
// and the device samples with them, so a request's tokens do not depend
// on the rest of the batch or on its slot.
func (p *Policy) Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	if err := p.limits().CheckRequests(reqs); err != nil {
		return nil, err
	}
	results := make([]engine.GenResult, len(reqs))
	var pending []*row
	for i, r := range reqs {
		rw := &row{Stream: decode.Start(r, p.cfg.MaxPositions), req: i}
		if rw.Done { // the prompt fills the context
			results[i] = rw.Result(p.tok.Decode)
			continue
		}
		pending = append(pending, rw)
	}
	if len(pending) == 0 {
		return results, nil
	}
	d := p.newDecoder(reqs, pending, results)
	defer d.release()
	if err := d.run(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

// decoder is the state of one Generate call's continuous batch.
type decoder struct {
	p       *Policy
	reqs    []engine.GenRequest
	results []engine.GenResult
	pending []*row // waiting, in request order
	slots   []*row // B slots; nil = free
	B, S    int
	usable  int // slots that take requests: min(B, max_batch); the rest is padding
	filter  bool
	kc, vc  *tensors.Tensor // main caches [L, B, S, KV, Dh]; nil before the first fill
	kr, vr  *tensors.Tensor // rings [L, B, R, KV, Dh] of the positions not yet in kc, vc
	R       int             // ring length
	// Per slot: the token to feed next, its position, and the length of
	// the main cache's valid prefix.
	next, pos, mainLen []int32
	// ringPos[b*R+r] is the position in ring slot r of row b (-1: none);
	// ringUsed slots have been written since the last flush.
	ringPos  []int32
	ringUsed int
}

func (p *Policy) newDecoder(reqs []engine.GenRequest, pending []*row, results []engine.GenResult) *decoder {
	d := &decoder{p: p, reqs: reqs, results: results, pending: pending}
	d.B = batchBucket(min(len(pending), p.maxBatch))
	d.usable = min(d.B, p.maxBatch)
	maxPrompt, maxSpan := 0, 0
	for _, rw := range pending {
		r := reqs[rw.req]
		maxPrompt = max(maxPrompt, rw.CtxLen)
		maxSpan = max(maxSpan, min(p.cfg.MaxPositions, rw.CtxLen+r.Sampling.MaxNewTokens))
		s := r.Sampling
		if s.Temperature > 0 && (s.TopK > 0 || (s.TopP > 0 && s.TopP < 1)) {
			d.filter = true
		}
	}
	d.S = max(lenBucket(maxPrompt, p.cfg.MaxPositions), lenBucket(maxSpan, p.cfg.MaxPositions))
	d.slots = make([]*row, d.B)
	d.next, d.pos, d.mainLen = make([]int32, d.B), make([]int32, d.B), make([]int32, d.B)
	d.R = min(p.decodeRing, d.S)
	d.ringPos = make([]int32, d.B*d.R)
	for i := range d.ringPos {
		d.ringPos[i] = -1
	}
	c := p.cfg
	ring := shapes.Make(p.arch.dtype, c.Layers, d.B, d.R, c.KVHeads, c.HeadDim)
	d.kr, d.vr = tensors.FromShape(ring), tensors.FromShape(ring)
	return d
}

func (d *decoder) release() { free([]*tensors.Tensor{d.kc, d.vc, d.kr, d.vr}) }

// run decodes until every request is done.
func (d *decoder) run(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		active, free := 0, 0
		for i, rw := range d.slots {
			if rw != nil && rw.Done {
				d.results[rw.req] = rw.Result(d.p.tok.Decode)
				d.slots[i], rw = nil, nil
			}
			switch {
			case rw != nil:
				active++
			case i < d.usable:
				free++
			}
		}
		if len(d.pending) > 0 && free > 0 && (active == 0 || free >= min(max(1, d.B/4), len(d.pending))) {
			if err := d.refill(); err != nil {
				return err
			}
			continue
		}
		if active == 0 {
			return nil
		}
		if int64(active) > d.p.peakRows.Load() {
			d.p.peakRows.Store(int64(active))
		}
		if err := d.step(); err != nil {
			return err
		}
	}
}

// sampling returns the per-slot sampling inputs for rows (indexed like
// the batch being run; nil rows are padding): uniforms drawn from each
// live row's own stream, temperature, top-k and top-p.
func (d *decoder) sampling(rows []*row) []*tensors.Tensor {
	n := len(rows)
	u, temp, topK, topP := make([]float32, n), make([]float32, n), make([]int32, n), make([]float32, n)
	for i, rw := range rows {
		if rw == nil || rw.Done {
			continue
		}
		s := d.reqs[rw.req].Sampling
		temp[i], topK[i], topP[i] = s.Temperature, int32(s.TopK), s.TopP
		if s.Temperature > 0 {
			u[i] = float32(rw.Rand.Float64())
		}
	}
	return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(u, n), tensors.FromFlatDataAndDimensions(temp, n),
		tensors.FromFlatDataAndDimensions(topK, n), tensors.FromFlatDataAndDimensions(topP, n)}
}

// accept hands the sampled tokens tok, log-probs lp and entropies ent
// (indexed like rows) to the live rows, and sets each one's slot inputs for the next
// decoding step.
func (d *decoder) accept(rows []*row, slotOf []int, tok, lp, ent *tensors.Tensor) error {
	defer free([]*tensors.Tensor{tok, lp, ent})
	next, err := tensors.CopyFlatData[int32](tok)
	if err != nil {
		return err
	}
	lps, err := toHost(lp)
	if err != nil {
		return err
	}
	ents, err := toHost(ent)
	if err != nil {
		return err
	}
	for i, rw := range rows {
		if rw == nil || rw.Done {
			continue
		}
		t := int(next[i])
		rw.Add(t, lps[i], ents[i], d.p.tok.TokenBytes(t))
		s := slotOf[i]
		d.next[s], d.pos[s] = next[i], int32(min(rw.CtxLen-1, d.S-1))
	}
	return nil
}

// refill prefills waiting requests into free slots. The prefill batch is
// padded to a power of two of at least B/4 rows (few shapes to compile);
// the first fill of an empty cache takes the prefill's caches as they
// are, later ones are merged row by row.
func (d *decoder) refill() error {
	var freeSlots []int
	for i, rw := range d.slots[:d.usable] {
		if rw == nil {
			freeSlots = append(freeSlots, i)
		}
	}
	if d.ringUsed > 0 { // the merge copies main cache rows: bring them up to date
		if err := d.flush(); err != nil {
			return err
		}
	}
	n := min(len(freeSlots), len(d.pending))
	Bn := min(d.B, max(batchBucket(n), batchBucket(max(1, d.B/4))))
	if d.kc == nil {
		Bn = d.B
	}
	rows := make([]*row, Bn)
	slotOf := make([]int, Bn)
	maxPrompt := 0
	for j := 0; j < n; j++ {
		rows[j], slotOf[j] = d.pending[j], freeSlots[j]
		maxPrompt = max(maxPrompt, rows[j].CtxLen)
	}
	d.pending = d.pending[n:]
	T := lenBucket(maxPrompt, d.p.cfg.MaxPositions)
	tokens, lens := make([]int32, Bn*T), make([]int32, Bn)
	for j := range lens {
		lens[j] = 1
	}
	for j, rw := range rows[:n] {
		r := d.reqs[rw.req]
		for t, id := range append(slices.Clone(r.Prompt), r.Prefix...) {
			tokens[j*T+t] = int32(id)
		}
		lens[j] = int32(rw.CtxLen)
	}
	tk := tensors.FromFlatDataAndDimensions(tokens, Bn, T)
	w, err := d.p.forwardArgs()
	if err != nil {
		return err
	}
	args := append(append(w, tk, tensors.FromFlatDataAndDimensions(lens, Bn)), d.sampling(rows)...)
	res, err := d.p.ex.run(fmt.Sprintf("prefill-S%d-filter=%v", d.S, d.filter), dimsKey(tk), d.p.prefillGraph(d.S, d.filter), args)
	if err != nil {
		return err
	}
	if d.kc == nil {
		d.kc, d.vc = res[0], res[1]
	} else {
		src := make([]int32, d.B)
		for b := range src {
			src[b] = int32(b)
		}
		for j := 0; j < n; j++ {
			src[slotOf[j]] = int32(d.B + j)
		}
		merged, err := d.p.ex.run("merge", dimsKey(d.kc, res[0]), mergeGraph,
			[]*tensors.Tensor{d.kc, d.vc, res[0], res[1], tensors.FromFlatDataAndDimensions(src, d.B)})
		free(res[:2])
		if err != nil {
			free(res[2:])
			return err
		}
		free([]*tensors.Tensor{d.kc, d.vc})
		d.kc, d.vc = merged[0], merged[1]
	}
	for j := 0; j < n; j++ {
		d.slots[slotOf[j]] = rows[j]
		d.mainLen[slotOf[j]] = int32(rows[j].CtxLen)
	}
	return d.accept(rows, slotOf, res[2], res[3], res[4])
}

// step runs one decoding step over every slot (free ones compute on
// placeholder inputs whose results are dropped), flushing the rings into
// the main caches first when they are full.
func (d *decoder) step() error {
	if d.ringUsed == d.R {
		if err := d.flush(); err != nil {
			return err
		}
	}
	r := d.ringUsed
	slotOf := make([]int, d.B)
	for i := range slotOf {
		slotOf[i] = i
		if d.slots[i] == nil {
			d.next[i], d.pos[i] = 0, 0
			continue
		}
		d.ringPos[i*d.R+r] = d.pos[i]
	}
	w, err := d.p.forwardArgs()
	if err != nil {
		return err
	}
	args := append(append(w, d.kc, d.vc, d.kr, d.vr,
		tensors.FromFlatDataAndDimensions(d.next, d.B),
		tensors.FromFlatDataAndDimensions(d.pos, d.B),
		tensors.FromFlatDataAndDimensions(d.mainLen, d.B),
		tensors.FromFlatDataAndDimensions(d.ringPos, d.B, d.R),
		tensors.FromScalar(int32(r))), d.sampling(d.slots)...)
	res, err := d.p.ex.run(fmt.Sprintf("decode-filter=%v", d.filter), dimsKey(d.kc, d.kr), d.p.decodeGraph(d.filter), args)
	if err != nil {
		return err
	}
	d.p.decodeSteps.Add(1)
	d.ringUsed++
	free([]*tensors.Tensor{d.kr, d.vr})
	d.kr, d.vr = res[0], res[1]
	return d.accept(d.slots, slotOf, res[2], res[3], res[4])
}

// flush writes the rings' positions into the main caches (one full copy
// of them, once every R steps) and empties the rings.
func (d *decoder) flush() error {
	src := make([]int32, d.B*d.S)
	for i := range src {
		src[i] = -1
	}
	for b := 0; b < d.B; b++ {
		for r := 0; r < d.R; r++ {
			if at := d.ringPos[b*d.R+r]; at >= 0 {
				src[b*d.S+int(at)] = int32(r)
				d.mainLen[b] = max(d.mainLen[b], at+1)
				d.ringPos[b*d.R+r] = -1
			}
		}
	}
	res, err := d.p.ex.run("flush", dimsKey(d.kc, d.kr), flushGraph,
		[]*tensors.Tensor{d.kc, d.vc, d.kr, d.vr, tensors.FromFlatDataAndDimensions(src, d.B, d.S)})
	if err != nil {
		return err
	}
	d.p.flushes.Add(1)
	free([]*tensors.Tensor{d.kc, d.vc})
	d.kc, d.vc = res[0], res[1]
	d.ringUsed = 0
	return nil
}
