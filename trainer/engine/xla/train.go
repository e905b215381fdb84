package xla

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 graph code reads like math with GoMLX's ops unqualified, as GoMLX's own examples write it
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// Graph builders. Every forward graph takes, in order, the base weights
// (cfg.Params() order), the LoRA factors (A, B per adapted module; none
// without LoRA), then its data inputs.

func (p *Policy) split(in []*Node) (w weights, data []*Node) {
	nb, nl := len(p.base), len(p.lora)
	return p.arch.bind(in[:nb], in[nb:nb+nl]), in[nb+nl:]
}

// logProbsGraph: tokens [B, T] -> log-probs [B, T].
func (p *Policy) logProbsGraph(in []*Node) []*Node {
	w, d := p.split(in)
	return []*Node{p.arch.tokenLogProbs(w, d[0])}
}

// logitsGraph: tokens [B, T] -> logits [B, T, V].
func (p *Policy) logitsGraph(in []*Node) []*Node {
	w, d := p.split(in)
	B, T := d[0].Shape().Dimensions[0], d[0].Shape().Dimensions[1]
	return []*Node{p.arch.logits(w, p.arch.hidden(w, d[0], positions(d[0].Graph(), B, T), nil))}
}

// gradGraph returns the loss graph of one loss kind: inputs tokens [B, T],
// weights [B, T] and old log-probs [B, T] shifted left by one (entry t
// belongs to the prediction of token t+1), clip bounds [2] (1-low, 1+high);
// outputs the loss, the number of clipped tokens (float32) and the
// gradient of every trainable tensor (the LoRA factors when LoRA is on,
// else every base weight).
func (p *Policy) gradGraph(kind engine.LossKind) func([]*Node) []*Node {
	return func(in []*Node) []*Node {
		w, d := p.split(in)
		tokens, wt, old, bounds := d[0], d[1], d[2], d[3]
		g := tokens.Graph()
		lp := p.arch.nextLogProbs(w, tokens)
		zero := ScalarZero(g, dtypes.Float32)
		var loss, clipped *Node
		switch kind {
		case engine.LossPG:
			loss = Neg(ReduceAllSum(Mul(wt, lp)))
			clipped = zero
		case engine.LossClip:
			nz := NotEqual(wt, zero)
			r := Exp(Sub(lp, Where(nz, old, StopGradient(lp))))
			lo, hi := Slice(bounds, AxisElem(0)), Slice(bounds, AxisElem(1))
			lo, hi = Reshape(lo), Reshape(hi)
			obj := Min(Mul(r, wt), Mul(Min(Max(r, lo), hi), wt)) // Clamp has no gradient in GoMLX
			loss = Neg(ReduceAllSum(Where(nz, obj, zero)))
			isClipped := Or(And(GreaterThan(wt, zero), GreaterThan(r, hi)), And(LessThan(wt, zero), LessThan(r, lo)))
			clipped = ReduceAllSum(ConvertDType(And(nz, isClipped), dtypes.Float32))
		}
		var wrt []*Node
		if p.arch.lora != nil {
			wrt = in[len(p.base) : len(p.base)+len(p.lora)]
		} else {
			wrt = in[:len(p.base)]
		}
		return append([]*Node{loss, clipped}, Gradient(loss, wrt...)...)
	}
}

// addGraph sums two gradient lists elementwise (micro-batch accumulation).
func addGraph(in []*Node) []*Node {
	n := len(in) / 2
	out := make([]*Node, n)
	for i := range out {
		out[i] = Add(in[i], in[n+i])
	}
	return out
}

// normGraph is the global L2 norm of a gradient list.
func normGraph(in []*Node) []*Node {
	var s *Node
	for _, x := range in {
		q := ReduceAllSum(Square(x))
		if s == nil {
			s = q
		} else {
			s = Add(s, q)
		}
	}
	return []*Node{Sqrt(s)}
}

// applyGraph is one AdamW step with decoupled weight decay on matrices
// (rank >= 2; norms and biases get none), as PyTorch and the CPU engine
// do. Inputs: params, m, v, grads (n each), then scalars [4] = (lr, grad
// scale from clipping, 1-beta1^step, 1-beta2^step). Outputs: params, m, v.
func (p *Policy) applyGraph(in []*Node) []*Node {
	n := (len(in) - 1) / 4
	sc := in[4*n]
	at := func(i int) *Node { return Reshape(Slice(sc, AxisElem(i))) }
	lr, scale, bc1, bc2 := at(0), at(1), at(2), at(3)
	o := p.opt
	out := make([]*Node, 3*n)
	for i := 0; i < n; i++ {
		w, m, v, g := in[i], in[n+i], in[2*n+i], in[3*n+i]
		g = Mul(g, scale)
		m = Add(MulScalar(m, o.Beta1), MulScalar(g, 1-o.Beta1))
		v = Add(MulScalar(v, o.Beta2), MulScalar(Square(g), 1-o.Beta2))
		upd := Div(Div(m, bc1), AddScalar(Sqrt(Div(v, bc2)), o.Eps))
		if w.Rank() >= 2 && o.WeightDecay > 0 {
			upd = Add(upd, MulScalar(w, o.WeightDecay))
		}
		out[i], out[n+i], out[2*n+i] = Sub(w, Mul(lr, upd)), m, v
	}
	return out
}
