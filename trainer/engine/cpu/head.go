package cpu

// headRows is the number of rows whose logits exist at once: the output
// head runs in chunks so a large vocabulary never needs [N, vocab] memory.
const headRows = 256

// targets returns, for each packed row, the id of the next token in its
// sequence, or -1 for a sequence's last row.
func targets(p packed) []int {
	tg := make([]int, len(p.tokens))
	for s, st := range p.starts {
		for t := 0; t < p.lens[s]; t++ {
			if t+1 < p.lens[s] {
				tg[st+t] = p.tokens[st+t+1]
			} else {
				tg[st+t] = -1
			}
		}
	}
	return tg
}

// head runs the output projection over the final normalised activations
// and writes logp[i] = log softmax(logits_i)[tg[i]] for rows with a target.
// When coef is non-nil, it is called once per row with a target, in row
// order, and returns dL/d(logp[i]); head then leaves dL/d(xF) in a.dx and
// adds the head's weight gradient to gw.head.
func (m *net) head(a *acts, p packed, tg []int, logp []float32, coef func(i int, lp float32) float32, gw *view) {
	dm := m.dm
	N, d, V := len(p.tokens), dm.d, dm.vocab
	a.logits = grow(a.logits, headRows*V)
	var dxn []float32
	cs := make([]float32, headRows)
	if coef != nil {
		a.dxn = grow(a.dxn, N*d)
		dxn = a.dxn
	}
	for r0 := 0; r0 < N; r0 += headRows {
		n := min(headRows, N-r0)
		L := a.logits[:n*V]
		m.ex.gemm(false, true, n, V, d, a.xnF[r0*d:], d, m.w.head, d, 0, L, V)
		parFor(n, 16, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				t := tg[r0+i]
				if t < 0 {
					logp[r0+i] = 0
					continue
				}
				row := L[i*V : (i+1)*V]
				logp[r0+i] = float32(float64(row[t]) - logSumExp(row))
			}
		})
		if coef == nil {
			continue
		}
		for i := 0; i < n; i++ {
			cs[i] = 0
			if tg[r0+i] >= 0 {
				cs[i] = coef(r0+i, logp[r0+i])
			}
		}
		// dL/dlogits = c * (onehot(t) - softmax)
		parFor(n, 16, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				row := L[i*V : (i+1)*V]
				t, c := tg[r0+i], cs[i]
				if t < 0 || c == 0 {
					clear(row)
					continue
				}
				lse32 := float32(logSumExp(row))
				for j, v := range row {
					row[j] = -c * expf(v-lse32)
				}
				row[t] += c
			}
		})
		m.ex.gemm(false, false, n, d, V, L, V, m.w.head, d, 0, dxn[r0*d:], d)
		m.ex.gemm(true, false, V, d, n, L, V, a.xnF[r0*d:], d, 1, gw.head, d)
	}
	if coef == nil {
		return
	}
	a.dx = grow(a.dx, N*d)
	clear(a.dx)
	rmsNormBackward(a.dx, gw.normF, dxn, a.xF, a.rF, m.w.normF, N, d)
}
