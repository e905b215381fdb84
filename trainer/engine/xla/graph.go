package xla

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 graph code reads like math with GoMLX's ops unqualified, as GoMLX's own examples write it
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/rewind-rl/rewind/trainer/model"
)

// arch builds the transformer's graph for one configuration. Parameters
// arrive as graph nodes in cfg.Params() order (float32 master weights,
// Hugging Face layout: a Linear weight is [out, in]); compute runs in
// dtype (Float32 or BFloat16) with RMSNorm statistics, softmax and the
// log-softmax of the head in float32.
type arch struct {
	cfg   model.Config
	dtype dtypes.DType
	lora  *loraSpec // nil without LoRA
}

// weights are one graph's parameter nodes by Hugging Face name, plus the
// LoRA factors (by base module name) when LoRA is on.
type weights struct {
	byName map[string]*Node
	loraA  map[string]*Node // module ("model.layers.0.self_attn.q_proj") -> A [r, in]
	loraB  map[string]*Node // module -> B [out, r]
}

func (a *arch) bind(base []*Node, lora []*Node) weights {
	w := weights{byName: map[string]*Node{}}
	for i, p := range a.cfg.Params() {
		w.byName[p.Name] = base[i]
	}
	if a.lora != nil {
		w.loraA, w.loraB = map[string]*Node{}, map[string]*Node{}
		for i, m := range a.lora.modules(a.cfg) {
			w.loraA[m.name], w.loraB[m.name] = lora[2*i], lora[2*i+1]
		}
	}
	return w
}

func (a *arch) cast(x *Node) *Node {
	if x.DType() == a.dtype {
		return x
	}
	return ConvertDType(x, a.dtype)
}

// linear is x W^T (+ b) over the last axis of x, plus the LoRA update
// (alpha/r) x A^T B^T when module has an adapter.
func (a *arch) linear(w weights, module string, x *Node) *Node {
	W := a.cast(w.byName[module+".weight"])
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, W, []int{1}, nil)
	if A, ok := w.loraA[module]; ok {
		h := DotGeneral(x, []int{x.Rank() - 1}, nil, a.cast(A), []int{1}, nil)
		h = DotGeneral(h, []int{h.Rank() - 1}, nil, a.cast(w.loraB[module]), []int{1}, nil)
		y = Add(y, MulScalar(h, a.lora.scale()))
	}
	if b, ok := w.byName[module+".bias"]; ok {
		y = Add(y, ExpandLeftToRank(a.cast(b), y.Rank()))
	}
	return y
}

// castsWeight says whether the graphs convert parameter name to the
// compute dtype before using it: every weight but the RMSNorm scales,
// which rmsNorm multiplies in float32.
func castsWeight(name string) bool { return !strings.HasSuffix(name, "norm.weight") }

// rmsNorm normalises over the last axis in float32, as transformers does,
// then multiplies by the weight and casts back to the compute dtype.
func (a *arch) rmsNorm(x, weight *Node) *Node {
	x32 := ConvertDType(x, dtypes.Float32)
	ms := ReduceAndKeep(Square(x32), ReduceMean, -1)
	y := Div(x32, Sqrt(AddScalar(ms, a.cfg.RMSNormEps))) // Rsqrt has no gradient in GoMLX
	return a.cast(Mul(y, ExpandLeftToRank(weight, y.Rank())))
}

// rope rotates x [B, T, heads, Dh] by its positions pos [B, T] (int32),
// with Hugging Face's rotate_half convention: the first and second halves
// of each head are the pair.
func (a *arch) rope(x, pos *Node) *Node {
	g := x.Graph()
	half := a.cfg.HeadDim / 2
	inv := make([]float32, half)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(a.cfg.RopeTheta, float64(2*i)/float64(a.cfg.HeadDim)))
	}
	ang := Mul(ExpandAxes(ConvertDType(pos, dtypes.Float32), -1), ExpandLeftToRank(Const(g, inv), 3)) // [B, T, half]
	ang = Concatenate([]*Node{ang, ang}, -1)                                                          // [B, T, Dh]
	cos := a.cast(ExpandAxes(Cos(ang), 2))                                                            // [B, T, 1, Dh]
	sin := a.cast(ExpandAxes(Sin(ang), 2))
	// rotate_half as a product with a signed permutation (a Slice would
	// need Pad in its gradient, which the pure-Go backend lacks).
	rot := Einsum("bthd,de->bthe", x, a.cast(Const(g, rotateHalf(a.cfg.HeadDim))))
	return Add(Mul(x, cos), Mul(rot, sin))
}

// attention is causal grouped-query attention of q [B, T, H, Dh] over
// keys and values [B, S, KV, Dh]: query (b, t) sees key s iff
// s <= qpos[b, t]. Scores and softmax are float32.
func (a *arch) attention(q, k, v, qpos *Node) *Node {
	c := a.cfg
	B, T := q.Shape().Dimensions[0], q.Shape().Dimensions[1]
	S := k.Shape().Dimensions[1]
	G := c.Heads / c.KVHeads
	q = Reshape(q, B, T, c.KVHeads, G, c.HeadDim)
	sc := Einsum("btkgd,bskd->bkgts", q, k)
	sc = MulScalar(ConvertDType(sc, dtypes.Float32), 1/math.Sqrt(float64(c.HeadDim)))
	g := q.Graph()
	keyPos := Iota(g, shapes.Make(dtypes.Int32, B, T, S), 2)
	allowed := LessOrEqual(keyPos, BroadcastToDims(ExpandAxes(qpos, -1), B, T, S)) // [B, T, S]
	allowed = BroadcastToDims(ExpandAxes(allowed, 1, 2), B, c.KVHeads, G, T, S)
	sc = Where(allowed, sc, Scalar(g, dtypes.Float32, -1e30))
	p := a.cast(Softmax(sc, -1))
	out := Einsum("bkgts,bskd->btkgd", p, v)
	return Reshape(out, B, T, c.Heads*c.HeadDim)
}

// attendCached is one decoding query per row, q [B, 1, H, Dh], over the
// row's keys and values in two places: the main cache km, vm [B, S, KV,
// Dh], valid below mainLen [B], and the ring kr, vr [B, R, KV, Dh] of the
// latest positions, slot r valid where ringPos [B, R] >= 0. Neither is
// concatenated (that would copy the cache): scores are computed per part,
// softmaxed together in float32, and the two weighted sums added.
func (a *arch) attendCached(q, km, vm, kr, vr, mainLen, ringPos *Node) *Node {
	c := a.cfg
	g := q.Graph()
	B := q.Shape().Dimensions[0]
	S, R := km.Shape().Dimensions[1], kr.Shape().Dimensions[1]
	G := c.Heads / c.KVHeads
	q = Reshape(q, B, c.KVHeads, G, c.HeadDim)
	scale := 1 / math.Sqrt(float64(c.HeadDim))
	sm := MulScalar(ConvertDType(Einsum("bkgd,bskd->bkgs", q, km), dtypes.Float32), scale)
	sr := MulScalar(ConvertDType(Einsum("bkgd,brkd->bkgr", q, kr), dtypes.Float32), scale)
	okM := LessThan(Iota(g, shapes.Make(dtypes.Int32, B, S), 1), BroadcastToDims(ExpandAxes(mainLen, -1), B, S))
	okR := GreaterOrEqual(ringPos, ZerosLike(ringPos))
	neg := Scalar(g, dtypes.Float32, -1e30)
	sm = Where(BroadcastToDims(ExpandAxes(okM, 1, 2), B, c.KVHeads, G, S), sm, neg)
	sr = Where(BroadcastToDims(ExpandAxes(okR, 1, 2), B, c.KVHeads, G, R), sr, neg)
	p := Softmax(Concatenate([]*Node{sm, sr}, -1), -1)
	pm := a.cast(SliceAxis(p, -1, AxisRange(0, S)))
	pr := a.cast(SliceAxis(p, -1, AxisRange(S, S+R)))
	out := Add(Einsum("bkgs,bskd->bkgd", pm, vm), Einsum("bkgr,brkd->bkgd", pr, vr))
	return Reshape(out, B, 1, c.Heads*c.HeadDim)
}

// layerIO computes one block's attention output [B, T, H*Dh] from its
// queries [B, T, H, Dh], keys and values [B, T, KV, Dh] (after RoPE) at
// positions pos [B, T]. nil is causal attention over the block's own keys
// (training, log-probs); prefill also records the keys for the cache, and
// decoding attends over the cache (decodeGraph).
type layerIO func(layer int, q, k, v, pos *Node) *Node

// hidden runs the embedding and every block on tokens [B, T] (int32) at
// positions pos [B, T] and returns the final normalised hidden states
// [B, T, D] in the compute dtype.
func (a *arch) hidden(w weights, tokens, pos *Node, io layerIO) *Node {
	c := a.cfg
	B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	x := a.cast(Gather(w.byName["model.embed_tokens.weight"], ExpandAxes(tokens, -1)))
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		h := a.rmsNorm(x, w.byName[p+"input_layernorm.weight"])
		q := Reshape(a.linear(w, p+"self_attn.q_proj", h), B, T, c.Heads, c.HeadDim)
		k := Reshape(a.linear(w, p+"self_attn.k_proj", h), B, T, c.KVHeads, c.HeadDim)
		v := Reshape(a.linear(w, p+"self_attn.v_proj", h), B, T, c.KVHeads, c.HeadDim)
		q, k = a.rope(q, pos), a.rope(k, pos)
		var att *Node
		if io != nil {
			att = io(l, q, k, v, pos)
		} else {
			att = a.attention(q, k, v, pos)
		}
		x = Add(x, a.linear(w, p+"self_attn.o_proj", att))
		h = a.rmsNorm(x, w.byName[p+"post_attention_layernorm.weight"])
		gate := a.linear(w, p+"mlp.gate_proj", h)
		up := a.linear(w, p+"mlp.up_proj", h)
		x = Add(x, a.linear(w, p+"mlp.down_proj", Mul(Mul(gate, Sigmoid(gate)), up)))
	}
	return a.rmsNorm(x, w.byName["model.norm.weight"])
}

// logits applies the output head to h [..., D] and returns float32 logits
// [..., V].
func (a *arch) logits(w weights, h *Node) *Node {
	head := w.byName["lm_head.weight"]
	if a.cfg.TiedEmbeddings {
		head = w.byName["model.embed_tokens.weight"]
	}
	return ConvertDType(DotGeneral(h, []int{h.Rank() - 1}, nil, a.cast(head), []int{1}, nil), dtypes.Float32)
}

// logSumExp over the last axis, keeping it.
func logSumExp(x *Node) *Node {
	m := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	return Add(Log(ReduceAndKeep(Exp(Sub(x, m)), ReduceSum, -1)), m)
}

// positions is [B, T] with row b equal to 0..T-1.
func positions(g *Graph, B, T int) *Node {
	return Iota(g, shapes.Make(dtypes.Int32, B, T), 1)
}

// rotateHalf is R with x R = cat(-x[half:], x[:half]).
func rotateHalf(d int) [][]float32 {
	r := make([][]float32, d)
	for i := range r {
		r[i] = make([]float32, d)
	}
	h := d / 2
	for j := 0; j < h; j++ {
		r[j+h][j] = -1
		r[j][j+h] = 1
	}
	return r
}

// nextLogProbs returns lp [B, T] with lp[b, t] = log p(tokens[b, t+1] |
// tokens[b, :t+1]); the last column is meaningless (its target is a
// placeholder). Shifting the loss weights instead of the log-probs keeps
// Slice out of the differentiated path.
func (a *arch) nextLogProbs(w weights, tokens *Node) *Node {
	g := tokens.Graph()
	B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	h := a.hidden(w, tokens, positions(g, B, T), nil)
	lg := a.logits(w, h)
	V := lg.Shape().Dimensions[2]
	lg = Reshape(lg, B*T, V)
	next := Concatenate([]*Node{SliceAxis(tokens, 1, AxisRange(1, T)), Zeros(g, shapes.Make(dtypes.Int32, B, 1))}, 1)
	rows := Iota(g, shapes.Make(dtypes.Int32, B*T, 1), 0)
	picked := Gather(lg, Concatenate([]*Node{rows, Reshape(next, B*T, 1)}, 1)) // [B*T]
	return Reshape(Sub(picked, Reshape(logSumExp(lg), B*T)), B, T)
}

// tokenLogProbs returns lp [B, T] with lp[b, t] = log p(tokens[b, t] |
// tokens[b, :t]) for t >= 1 and lp[b, 0] = 0.
func (a *arch) tokenLogProbs(w weights, tokens *Node) *Node {
	g := tokens.Graph()
	B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	lp := SliceAxis(a.nextLogProbs(w, tokens), 1, AxisRange(0, T-1))
	return Concatenate([]*Node{Zeros(g, shapes.Make(dtypes.Float32, B, 1)), lp}, 1)
}
