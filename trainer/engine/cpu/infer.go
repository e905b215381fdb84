package cpu

import (
	"math"

	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/vec"
)

// smallGemmRows: attention for at most this many new queries of a sequence
// (decoding) runs as vector kernels instead of BLAS calls.
const smallGemmRows = 4

// kvCache holds one sequence's keys and values. Per layer, keys are stored
// transposed, [kvHeads][headDim][capacity] (already rotated), so that a
// query's scores are a GEMM without transposition, which gonum runs as
// long AXPYs; values are [capacity, kvDim] rows.
type kvCache struct {
	k, v [][]float32
	n    int // positions filled
	cap  int
}

// reset empties c and makes room for capacity positions.
func (c *kvCache) reset(dm dims, capacity int) {
	if len(c.k) != dm.layers {
		c.k, c.v = make([][]float32, dm.layers), make([][]float32, dm.layers)
	}
	for l := range c.k {
		c.k[l] = grow(c.k[l], capacity*dm.kvDim)
		c.v[l] = grow(c.v[l], capacity*dm.kvDim)
	}
	c.n, c.cap = 0, capacity
}

// inferSeg is the new tokens of one sequence in an inference step.
type inferSeg struct {
	cache  *kvCache
	tokens []int
}

// inferWS is reusable workspace for inference steps.
type inferWS struct {
	x, xn, qkv, att, gu, h, last []float32
	scr, qs                      [][]float32 // per worker
	pos, row                     []int       // per row: position, segment
}

// step appends the segments' tokens to their caches and writes the logits
// of each segment's last token into logits ([len(segs), vocab]). Each
// row's result depends only on its own sequence: rows share GEMMs but
// never mix.
func (m *net) step(ws *inferWS, segs []inferSeg, logits []float32) {
	dm := m.dm
	d := dm.d
	N := 0
	maxKeys := 0
	for _, s := range segs {
		N += len(s.tokens)
		maxKeys = max(maxKeys, s.cache.n+len(s.tokens))
	}
	ws.x = grow(ws.x, N*d)
	ws.xn = grow(ws.xn, N*d)
	ws.qkv = grow(ws.qkv, N*dm.qkv)
	ws.att = grow(ws.att, N*dm.qDim)
	ws.gu = grow(ws.gu, N*2*dm.inter)
	ws.h = grow(ws.h, N*dm.inter)
	ws.pos, ws.row = ws.pos[:0], ws.row[:0]
	starts := make([]int, len(segs))
	r := 0
	for si, s := range segs {
		starts[si] = r
		for i, t := range s.tokens {
			copy(ws.x[r*d:(r+1)*d], m.w.embed[t*d:(t+1)*d])
			ws.pos = append(ws.pos, s.cache.n+i)
			ws.row = append(ws.row, si)
			r++
		}
	}
	for len(ws.scr) < workers() {
		ws.scr = append(ws.scr, nil)
		ws.qs = append(ws.qs, make([]float32, dm.hd))
	}
	for i := range ws.scr {
		ws.scr[i] = grow(ws.scr[i], maxKeys*max(1, maxSegLen(segs)))
	}
	scale := float32(1 / math.Sqrt(float64(dm.hd)))
	group := dm.heads / dm.kvHeads
	for li := 0; li < dm.layers; li++ {
		lw := m.w.layers[li]
		rmsNorm(ws.xn, nil, ws.x, lw.ln1, N, d, dm.eps)
		m.ex.gemm(false, true, N, dm.qkv, d, ws.xn, d, lw.wqkv, d, 0, ws.qkv, dm.qkv)
		if dm.bias {
			addBias(ws.qkv, lw.bqkv, N, dm.qkv)
		}
		parFor(N, 32, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				row := ws.qkv[i*dm.qkv : (i+1)*dm.qkv]
				m.rope.apply(row[:dm.qDim+dm.kvDim], dm.heads+dm.kvHeads, ws.pos[i], false)
				c := segs[ws.row[i]].cache
				p := ws.pos[i]
				kt := c.k[li]
				for j, v := range row[dm.qDim : dm.qDim+dm.kvDim] {
					kt[j*c.cap+p] = v // j = head*hd + dim
				}
				copy(c.v[li][p*dm.kvDim:(p+1)*dm.kvDim], row[dm.qDim+dm.kvDim:])
			}
		})
		parFor(len(segs)*dm.heads, 1, func(w, lo, hi int) {
			for it := lo; it < hi; it++ {
				si, h := it/dm.heads, it%dm.heads
				s := segs[si]
				n, n0 := len(s.tokens), s.cache.n
				keys := n0 + n
				kvh := h / group
				S := ws.scr[w][:n*keys]
				q := ws.qkv[starts[si]*dm.qkv+h*dm.hd:]
				kt := s.cache.k[li][kvh*dm.hd*s.cache.cap:]
				v := s.cache.v[li][kvh*dm.hd:]
				out := ws.att[starts[si]*dm.qDim+h*dm.hd:]
				if n > smallGemmRows {
					m.ex.blas.Sgemm(false, false, n, keys, dm.hd, scale, q, dm.qkv, kt, s.cache.cap, 0, S, keys)
				} else {
					// A few queries make GEMMs too small for a cgo call to
					// pay off: scores = Kt^T q with the transposed keys.
					qs := ws.qs[w][:dm.hd]
					for i := 0; i < n; i++ {
						for dd, qv := range q[i*dm.qkv : i*dm.qkv+dm.hd] {
							qs[dd] = qv * scale
						}
						vec.GemvT(qs, kt, s.cache.cap, S[i*keys:(i+1)*keys])
					}
				}
				for i := 0; i < n; i++ {
					row := S[i*keys : (i+1)*keys]
					vis := n0 + i + 1
					softmaxRow(row[:vis])
					clear(row[vis:])
				}
				if n > smallGemmRows {
					m.ex.blas.Sgemm(false, false, n, dm.hd, keys, 1, S, keys, v, dm.kvDim, 0, out, dm.qDim)
				} else {
					for i := 0; i < n; i++ {
						vec.GemvT(S[i*keys:i*keys+n0+i+1], v, dm.kvDim, out[i*dm.qDim:i*dm.qDim+dm.hd])
					}
				}
			}
		})
		m.ex.gemm(false, true, N, d, dm.qDim, ws.att, dm.qDim, lw.wo, dm.qDim, 1, ws.x, d)
		rmsNorm(ws.xn, nil, ws.x, lw.ln2, N, d, dm.eps)
		m.ex.gemm(false, true, N, 2*dm.inter, d, ws.xn, d, lw.wgu, d, 0, ws.gu, 2*dm.inter)
		swiglu(ws.h, ws.gu, N, dm.inter)
		m.ex.gemm(false, true, N, d, dm.inter, ws.h, dm.inter, lw.wd, dm.inter, 1, ws.x, d)
	}
	for _, s := range segs {
		s.cache.n += len(s.tokens)
	}
	B := len(segs)
	ws.last = grow(ws.last, B*d)
	for si, s := range segs {
		r := starts[si] + len(s.tokens) - 1
		copy(ws.last[si*d:(si+1)*d], ws.x[r*d:(r+1)*d])
	}
	rmsNorm(ws.xn[:B*d], nil, ws.last, m.w.normF, B, d, dm.eps)
	m.ex.gemm(false, true, B, dm.vocab, d, ws.xn, d, m.w.head, d, 0, logits, dm.vocab)
}

func maxSegLen(segs []inferSeg) int {
	n := 0
	for _, s := range segs {
		n = max(n, len(s.tokens))
	}
	return n
}
