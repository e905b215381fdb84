package cpu

import (
	"math"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// normChunk is the fixed chunk size of the gradient-norm reduction.
const normChunk = 1 << 15

// globalNorm is the L2 norm of g, summed in float64 over fixed chunks and
// then over chunks in order.
func globalNorm(g []float32) float64 {
	n := (len(g) + normChunk - 1) / normChunk
	part := make([]float64, n)
	parFor(len(g), normChunk, func(_, lo, hi int) {
		var s float64
		for _, v := range g[lo:hi] {
			s += float64(v) * float64(v)
		}
		part[lo/normChunk] = s
	})
	var s float64
	for _, v := range part {
		s += v
	}
	return math.Sqrt(s)
}

// adamW applies one AdamW step (decoupled weight decay, as in PyTorch:
// p -= lr*wd*p, then the Adam update) to params from grads, scaled by
// gscale (gradient clipping). decay marks the ranges that get weight decay
// (matrices; norms and biases do not).
func adamW(o engine.Optim, step int, lr float64, gscale float32, params, grads, m, v []float32, decay [][2]int) {
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	bc1 := float32(1 - math.Pow(o.Beta1, float64(step)))
	bc2 := float32(1 - math.Pow(o.Beta2, float64(step)))
	eps, lrf := float32(o.Eps), float32(lr)
	update := func(lo, hi int, wd float32) {
		parFor(hi-lo, 1<<14, func(_, a, b int) {
			for i := lo + a; i < lo+b; i++ {
				g := grads[i] * gscale
				m[i] = b1*m[i] + (1-b1)*g
				v[i] = b2*v[i] + (1-b2)*g*g
				mh := m[i] / bc1
				vh := v[i] / bc2
				params[i] -= lrf*wd*params[i] + lrf*mh/(float32(math.Sqrt(float64(vh)))+eps)
			}
		})
	}
	pos := 0
	for _, r := range decay {
		if r[0] > pos {
			update(pos, r[0], 0)
		}
		update(r[0], r[1], float32(o.WeightDecay))
		pos = r[1]
	}
	if pos < len(params) {
		update(pos, len(params), 0)
	}
}

// decayRanges lists the flat ranges of matrices (rank >= 2), sorted.
func (l layout) decayRanges() [][2]int {
	var out [][2]int
	for _, s := range l.segs {
		if len(s.spec.Shape) >= 2 {
			out = append(out, [2]int{s.off, s.off + numel(s.spec.Shape)})
		}
	}
	// segments are in HF order, not flat order: sort by offset.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j][0] < out[j-1][0]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
