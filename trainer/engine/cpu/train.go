package cpu

import (
	"math"
)

// packed is a batch of sequences laid end to end as rows, with no padding.
type packed struct {
	tokens []int
	starts []int // row of each sequence's first token
	lens   []int
	maxLen int
}

func pack(seqs [][]int) packed {
	var p packed
	for _, s := range seqs {
		p.starts = append(p.starts, len(p.tokens))
		p.lens = append(p.lens, len(s))
		p.tokens = append(p.tokens, s...)
		p.maxLen = max(p.maxLen, len(s))
	}
	return p
}

// layerAct holds what one layer's backward pass needs.
type layerAct struct {
	x, r1, xn1, qkv, lse, att, x2, r2, xn2, gu, h []float32
}

// acts holds the activations of a training forward pass; buffers are
// reused across calls.
type acts struct {
	layers       []layerAct
	xF, rF, xnF  []float32
	scratch      [][]float32 // per worker
	dx, dx2, dxn []float32
	datt, dqkv   []float32
	dh, dgu      []float32
	logits       []float32
}

// forward runs the model over p and keeps the activations in a.
func (m *net) forward(a *acts, p packed) {
	dm := m.dm
	N, d := len(p.tokens), dm.d
	if len(a.layers) != dm.layers {
		a.layers = make([]layerAct, dm.layers)
	}
	x := grow(a.layers[0].x, N*d)
	for i, t := range p.tokens {
		copy(x[i*d:(i+1)*d], m.w.embed[t*d:(t+1)*d])
	}
	for li := range a.layers {
		la := &a.layers[li]
		lw := m.w.layers[li]
		la.x = x
		la.r1 = grow(la.r1, N)
		la.xn1 = grow(la.xn1, N*d)
		rmsNorm(la.xn1, la.r1, x, lw.ln1, N, d, dm.eps)
		la.qkv = grow(la.qkv, N*dm.qkv)
		m.ex.gemm(false, true, N, dm.qkv, d, la.xn1, d, lw.wqkv, d, 0, la.qkv, dm.qkv)
		if dm.bias {
			addBias(la.qkv, lw.bqkv, N, dm.qkv)
		}
		m.ropeRows(la.qkv, p, false)
		la.lse = grow(la.lse, N*dm.heads)
		la.att = grow(la.att, N*dm.qDim)
		m.attnForward(a, la, p)
		la.x2 = grow(la.x2, N*d)
		copy(la.x2, x)
		m.ex.gemm(false, true, N, d, dm.qDim, la.att, dm.qDim, lw.wo, dm.qDim, 1, la.x2, d)
		la.r2 = grow(la.r2, N)
		la.xn2 = grow(la.xn2, N*d)
		rmsNorm(la.xn2, la.r2, la.x2, lw.ln2, N, d, dm.eps)
		la.gu = grow(la.gu, N*2*dm.inter)
		m.ex.gemm(false, true, N, 2*dm.inter, d, la.xn2, d, lw.wgu, d, 0, la.gu, 2*dm.inter)
		la.h = grow(la.h, N*dm.inter)
		swiglu(la.h, la.gu, N, dm.inter)
		var next []float32
		if li+1 < len(a.layers) {
			next = grow(a.layers[li+1].x, N*d)
		} else {
			next = grow(a.xF, N*d)
			a.xF = next
		}
		copy(next, la.x2)
		m.ex.gemm(false, true, N, d, dm.inter, la.h, dm.inter, lw.wd, dm.inter, 1, next, d)
		x = next
	}
	a.rF = grow(a.rF, N)
	a.xnF = grow(a.xnF, N*d)
	rmsNorm(a.xnF, a.rF, a.xF, m.w.normF, N, d, dm.eps)
}

// ropeRows rotates the q and k parts of every row of qkv by its position
// in its sequence (inverse for gradients).
func (m *net) ropeRows(qkv []float32, p packed, inverse bool) {
	dm := m.dm
	for s, st := range p.starts {
		n := p.lens[s]
		parFor(n, 64, func(_, lo, hi int) {
			for t := lo; t < hi; t++ {
				row := qkv[(st+t)*dm.qkv : (st+t+1)*dm.qkv]
				m.rope.apply(row[:dm.qDim+dm.kvDim], dm.heads+dm.kvHeads, t, inverse)
			}
		})
	}
}

// scratchFor returns per-worker scratch of at least n floats.
func (a *acts) scratchFor(n int) [][]float32 {
	w := workers()
	for len(a.scratch) < w {
		a.scratch = append(a.scratch, nil)
	}
	for i := range a.scratch {
		a.scratch[i] = grow(a.scratch[i], n)
	}
	return a.scratch
}

// attnForward computes causal attention per (sequence, head), storing the
// output in la.att and each row's log-sum-exp in la.lse; the probabilities
// are recomputed in the backward pass instead of being stored.
func (m *net) attnForward(a *acts, la *layerAct, p packed) {
	dm := m.dm
	T := p.maxLen
	scr := a.scratchFor(T * T)
	scale := float32(1 / math.Sqrt(float64(dm.hd)))
	group := dm.heads / dm.kvHeads
	items := len(p.starts) * dm.heads
	parFor(items, 1, func(w, lo, hi int) {
		for it := lo; it < hi; it++ {
			s, h := it/dm.heads, it%dm.heads
			st, n := p.starts[s], p.lens[s]
			kvh := h / group
			q := la.qkv[st*dm.qkv+h*dm.hd:]
			k := la.qkv[st*dm.qkv+dm.qDim+kvh*dm.hd:]
			v := la.qkv[st*dm.qkv+dm.qDim+dm.kvDim+kvh*dm.hd:]
			S := scr[w][:n*n]
			m.ex.blas.Sgemm(false, true, n, n, dm.hd, scale, q, dm.qkv, k, dm.qkv, 0, S, n)
			for i := 0; i < n; i++ {
				row := S[i*n : (i+1)*n]
				la.lse[(st+i)*dm.heads+h] = softmaxRow(row[:i+1])
				clear(row[i+1:])
			}
			m.ex.blas.Sgemm(false, false, n, dm.hd, n, 1, S, n, v, dm.qkv, 0, la.att[st*dm.qDim+h*dm.hd:], dm.qDim)
		}
	})
}

// attnBackward turns d(att) into d(qkv) (before the rotary inverse), per
// (sequence, kv head) so that the gradients of a shared k/v head are summed
// over its query heads in a fixed order.
func (m *net) attnBackward(a *acts, la *layerAct, datt, dqkv []float32, p packed) {
	dm := m.dm
	T := p.maxLen
	scr := a.scratchFor(2 * T * T)
	scale := float32(1 / math.Sqrt(float64(dm.hd)))
	group := dm.heads / dm.kvHeads
	items := len(p.starts) * dm.kvHeads
	parFor(items, 1, func(w, lo, hi int) {
		for it := lo; it < hi; it++ {
			s, kvh := it/dm.kvHeads, it%dm.kvHeads
			st, n := p.starts[s], p.lens[s]
			k := la.qkv[st*dm.qkv+dm.qDim+kvh*dm.hd:]
			v := la.qkv[st*dm.qkv+dm.qDim+dm.kvDim+kvh*dm.hd:]
			dk := dqkv[st*dm.qkv+dm.qDim+kvh*dm.hd:]
			dv := dqkv[st*dm.qkv+dm.qDim+dm.kvDim+kvh*dm.hd:]
			P, dP := scr[w][:n*n], scr[w][n*n:2*n*n]
			for g := 0; g < group; g++ {
				h := kvh*group + g
				q := la.qkv[st*dm.qkv+h*dm.hd:]
				do := datt[st*dm.qDim+h*dm.hd:]
				m.ex.blas.Sgemm(false, true, n, n, dm.hd, scale, q, dm.qkv, k, dm.qkv, 0, P, n)
				for i := 0; i < n; i++ {
					row := P[i*n : (i+1)*n]
					lse := la.lse[(st+i)*dm.heads+h]
					for j := 0; j <= i; j++ {
						row[j] = expf(row[j] - lse)
					}
					clear(row[i+1:])
				}
				beta := float32(1)
				if g == 0 {
					beta = 0
				}
				// dV += P^T dO
				m.ex.blas.Sgemm(true, false, n, dm.hd, n, 1, P, n, do, dm.qDim, beta, dv, dm.qkv)
				// dP = dO V^T
				m.ex.blas.Sgemm(false, true, n, n, dm.hd, 1, do, dm.qDim, v, dm.qkv, 0, dP, n)
				// dS = P * (dP - rowsum(P*dP)), scaled
				for i := 0; i < n; i++ {
					pr, dr := P[i*n:i*n+i+1], dP[i*n:(i+1)*n]
					var dot float32
					for j, pv := range pr {
						dot += pv * dr[j]
					}
					for j, pv := range pr {
						dr[j] = pv * (dr[j] - dot) * scale
					}
					clear(dr[i+1:])
				}
				// dQ = dS K ; dK += dS^T Q
				m.ex.blas.Sgemm(false, false, n, dm.hd, n, 1, dP, n, k, dm.qkv, 0, dqkv[st*dm.qkv+h*dm.hd:], dm.qkv)
				m.ex.blas.Sgemm(true, false, n, dm.hd, n, 1, dP, n, q, dm.qkv, beta, dk, dm.qkv)
			}
		}
	})
}

// backward accumulates parameter gradients into gw given a.dx = dL/d(xF)
// (the gradient at the final norm's input) and the forward activations.
func (m *net) backward(a *acts, p packed, gw view) {
	dm := m.dm
	N, d := len(p.tokens), dm.d
	dx := a.dx // [N, d], gradient w.r.t. the current residual stream
	a.dx2 = grow(a.dx2, N*d)
	a.dxn = grow(a.dxn, N*d)
	a.dh = grow(a.dh, N*dm.inter)
	a.dgu = grow(a.dgu, N*2*dm.inter)
	a.datt = grow(a.datt, N*dm.qDim)
	a.dqkv = grow(a.dqkv, N*dm.qkv)
	for li := dm.layers - 1; li >= 0; li-- {
		la, lw, lg := &a.layers[li], m.w.layers[li], gw.layers[li]
		// MLP: out = x2 + h Wd^T
		m.ex.gemm(false, false, N, dm.inter, d, dx, d, lw.wd, dm.inter, 0, a.dh, dm.inter)
		m.ex.gemm(true, false, d, dm.inter, N, dx, d, la.h, dm.inter, 1, lg.wd, dm.inter)
		swigluBackward(a.dgu, a.dh, la.gu, N, dm.inter)
		m.ex.gemm(true, false, 2*dm.inter, d, N, a.dgu, 2*dm.inter, la.xn2, d, 1, lg.wgu, d)
		m.ex.gemm(false, false, N, d, 2*dm.inter, a.dgu, 2*dm.inter, lw.wgu, d, 0, a.dxn, d)
		copy(a.dx2, dx)
		rmsNormBackward(a.dx2, lg.ln2, a.dxn, la.x2, la.r2, lw.ln2, N, d)
		// attention: x2 = x + att Wo^T
		m.ex.gemm(false, false, N, dm.qDim, d, a.dx2, d, lw.wo, dm.qDim, 0, a.datt, dm.qDim)
		m.ex.gemm(true, false, d, dm.qDim, N, a.dx2, d, la.att, dm.qDim, 1, lg.wo, dm.qDim)
		m.attnBackward(a, la, a.datt, a.dqkv, p)
		m.ropeRows(a.dqkv, p, true)
		if dm.bias {
			colSum(lg.bqkv, a.dqkv, N, dm.qkv, dm.qkv)
		}
		m.ex.gemm(true, false, dm.qkv, d, N, a.dqkv, dm.qkv, la.xn1, d, 1, lg.wqkv, d)
		m.ex.gemm(false, false, N, d, dm.qkv, a.dqkv, dm.qkv, lw.wqkv, d, 0, a.dxn, d)
		copy(dx, a.dx2)
		rmsNormBackward(dx, lg.ln1, a.dxn, la.x, la.r1, lw.ln1, N, d)
	}
	for i, t := range p.tokens {
		g := gw.embed[t*d : (t+1)*d]
		for j, v := range dx[i*d : (i+1)*d] {
			g[j] += v
		}
	}
}
