package cpu

import (
	"math"
)

// rmsNorm writes y = w * x / sqrt(mean(x^2) + eps) row by row and stores
// the inverse root mean square of each row in r (for the backward pass).
func rmsNorm(y, r, x, w []float32, rows, d int, eps float64) {
	parFor(rows, 64, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			xr := x[i*d : (i+1)*d]
			var ss float32
			for _, v := range xr {
				ss += v * v
			}
			inv := float32(1 / math.Sqrt(float64(ss/float32(d))+eps))
			if r != nil {
				r[i] = inv
			}
			yr := y[i*d : (i+1)*d]
			for j, v := range xr {
				yr[j] = w[j] * (v * inv)
			}
		}
	})
}

// rmsNormBackward adds to dx the gradient through y = w * x * r given dy,
// and to dw the weight gradient (columns reduced over rows in order).
func rmsNormBackward(dx, dw, dy, x, r, w []float32, rows, d int) {
	parFor(rows, 64, func(_, lo, hi int) {
		g := make([]float32, d)
		for i := lo; i < hi; i++ {
			xr, dyr, inv := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], r[i]
			var dot float32
			for j := range g {
				g[j] = dyr[j] * w[j]
				dot += g[j] * xr[j]
			}
			c := inv * inv * inv * dot / float32(d)
			dxr := dx[i*d : (i+1)*d]
			for j := range g {
				dxr[j] += inv*g[j] - c*xr[j]
			}
		}
	})
	parFor(d, 64, func(_, lo, hi int) {
		acc := make([]float32, hi-lo)
		for i := 0; i < rows; i++ {
			inv := r[i]
			xr, dyr := x[i*d+lo:i*d+hi], dy[i*d+lo:i*d+hi]
			for j := range acc {
				acc[j] += dyr[j] * xr[j] * inv
			}
		}
		for j, v := range acc {
			dw[lo+j] += v
		}
	})
}

// rope holds cos and sin tables, [positions, headDim/2], computed as
// transformers does: inv_freq = theta^(-2i/headDim) in float32, angle =
// position * inv_freq in float32.
type rope struct {
	half     int
	cos, sin []float32
}

func newRope(theta float64, headDim, positions int) *rope {
	half := headDim / 2
	r := &rope{half: half, cos: make([]float32, positions*half), sin: make([]float32, positions*half)}
	inv := make([]float32, half)
	for i := range inv {
		inv[i] = float32(1 / math.Pow(theta, float64(float32(2*i)/float32(headDim))))
	}
	for p := 0; p < positions; p++ {
		for i := 0; i < half; i++ {
			a := float64(float32(p) * inv[i])
			r.cos[p*half+i] = float32(math.Cos(a))
			r.sin[p*half+i] = float32(math.Sin(a))
		}
	}
	return r
}

// apply rotates the heads of one row in place (rotate_half convention:
// pairs (i, i+half)); inverse applies the transpose, for gradients.
func (r *rope) apply(x []float32, heads, pos int, inverse bool) {
	h := r.half
	cs, sn := r.cos[pos*h:(pos+1)*h], r.sin[pos*h:(pos+1)*h]
	for k := 0; k < heads; k++ {
		a := x[k*2*h : k*2*h+h]
		b := x[k*2*h+h : (k+1)*2*h]
		for i := range a {
			c, s := cs[i], sn[i]
			if inverse {
				s = -s
			}
			x0, x1 := a[i], b[i]
			a[i] = x0*c - x1*s
			b[i] = x1*c + x0*s
		}
	}
}

// sigmoid(x) = 1 / (1 + e^-x).
func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }

// expf is e^x in single precision (Cephes' expf: range reduction by ln 2
// in two parts and a degree-6 polynomial, within 2 ulp of the exact value),
// several times faster than math.Exp on float64. Below -87.3 it returns 0
// (the result would be subnormal), above 88.7 +Inf.
func expf(x float32) float32 {
	if x < -87.33654 {
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	fx := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	x -= fx * 0.693359375
	x -= fx * -2.12194440e-4
	z := x * x
	y := ((((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*z + x + 1)
	n := int32(fx)
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	if n < -126 { // 2^n is subnormal: scale in two steps
		return y * math.Float32frombits(uint32(n+127+64)<<23) * (1.0 / (1 << 64))
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// swiglu writes h = silu(gate) * up for rows of gu = [gate | up].
func swiglu(h, gu []float32, rows, inter int) {
	parFor(rows, 32, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			g, u := gu[i*2*inter:i*2*inter+inter], gu[i*2*inter+inter:(i+1)*2*inter]
			hr := h[i*inter : (i+1)*inter]
			for j := range hr {
				hr[j] = g[j] * sigmoid(g[j]) * u[j]
			}
		}
	})
}

// swigluBackward writes dgu = [dgate | dup] from dh.
func swigluBackward(dgu, dh, gu []float32, rows, inter int) {
	parFor(rows, 32, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			g, u := gu[i*2*inter:i*2*inter+inter], gu[i*2*inter+inter:(i+1)*2*inter]
			dg, du := dgu[i*2*inter:i*2*inter+inter], dgu[i*2*inter+inter:(i+1)*2*inter]
			d := dh[i*inter : (i+1)*inter]
			for j := range d {
				s := sigmoid(g[j])
				silu := g[j] * s
				du[j] = d[j] * silu
				dg[j] = d[j] * u[j] * s * (1 + g[j]*(1-s))
			}
		}
	})
}

// addBias adds b to every row of x ([rows, len(b)], stride ld).
func addBias(x, b []float32, rows, ld int) {
	parFor(rows, 128, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			r := x[i*ld : i*ld+len(b)]
			for j, v := range b {
				r[j] += v
			}
		}
	})
}

// logSumExp returns log(sum(exp(row))), accumulated in float64 in index
// order.
func logSumExp(row []float32) float64 {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	var s float64
	for _, v := range row {
		s += float64(expf(v - m))
	}
	return float64(m) + math.Log(s)
}

// logSumExpEntropy returns the log-sum-exp of row and the entropy, in
// nats, of softmax(row), in one pass over the row after the maximum:
// with e_i = exp(row_i - m) and Z = sum e_i, H = log Z - sum e_i (row_i -
// m) / Z. Sampling calls it for every token, so it costs one
// multiply-add per logit over logSumExp.
func logSumExpEntropy(row []float32) (lse, ent float64) {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	var s, t float64
	for _, v := range row {
		d := v - m
		e := float64(expf(d))
		s += e
		t += e * float64(d)
	}
	ls := math.Log(s)
	return float64(m) + ls, max(ls-t/s, 0)
}

// softmaxRow replaces row by softmax(row) and returns its log-sum-exp.
func softmaxRow(row []float32) float32 {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	var s float32
	for j, v := range row {
		e := expf(v - m)
		row[j] = e
		s += e
	}
	inv := 1 / s
	for j := range row {
		row[j] *= inv
	}
	return m + float32(math.Log(float64(s)))
}
