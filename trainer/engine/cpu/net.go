package cpu

import (
	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/model"
)

// net is the model's weights and the kernels that run it.
type net struct {
	cfg  model.Config
	dm   dims
	lay  layout
	w    view
	ex   *exec
	rope *rope
}

// newNet wraps flat weights (in the layout of newLayout(cfg)).
func newNet(cfg model.Config, flat []float32, g blas.Gemm) *net {
	dm := newDims(cfg)
	return &net{cfg: cfg, dm: dm, lay: newLayout(cfg), w: newView(dm, flat), ex: &exec{blas: g}, rope: newRope(cfg.RopeTheta, cfg.HeadDim, cfg.MaxPositions)}
}

// logits returns the full logits [rows, vocab] of a packed batch (used by
// `rewind model logits` and the reference tests).
func (m *net) logits(a *acts, p packed) []float32 {
	m.forward(a, p)
	N, V, d := len(p.tokens), m.dm.vocab, m.dm.d
	out := make([]float32, N*V)
	m.ex.gemm(false, true, N, V, d, a.xnF, d, m.w.head, d, 0, out, V)
	return out
}

// logProbs returns log pi(tok[t] | tok[:t]) per sequence (entry 0 is 0).
func (m *net) logProbs(a *acts, seqs [][]int) [][]float32 {
	p := pack(seqs)
	m.forward(a, p)
	tg := targets(p)
	lp := make([]float32, len(p.tokens))
	m.head(a, p, tg, lp, nil, nil)
	out := make([][]float32, len(seqs))
	for s, st := range p.starts {
		o := make([]float32, p.lens[s])
		copy(o[1:], lp[st:st+p.lens[s]-1])
		out[s] = o
	}
	return out
}
