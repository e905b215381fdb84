// Package vec holds the vector kernels the CPU engine runs outside BLAS,
// on products too small for a cgo call into BLAS to pay off (attention
// while decoding). On amd64 with AVX2 and FMA they run in assembly;
// elsewhere in Go. Each output is reduced in a fixed order, so results are
// a function of the inputs on a given machine.
package vec

// GemvT sets y[c] = sum over r < len(x) of x[r] * a[r*lda+c], for
// c < len(y): y = A^T x for a row-major A of len(x) rows and stride lda.
// It panics if a is too short.
func GemvT(x, a []float32, lda int, y []float32) {
	if len(y) == 0 {
		return
	}
	if len(x) == 0 {
		clear(y)
		return
	}
	if lda < len(y) || len(a) < (len(x)-1)*lda+len(y) {
		panic("vec: GemvT: matrix too short")
	}
	if useAsm {
		gemvTAVX2(x, a, lda, y)
		return
	}
	gemvTGo(x, a, lda, y)
}

func gemvTGo(x, a []float32, lda int, y []float32) {
	clear(y)
	for r, xv := range x {
		row := a[r*lda : r*lda+len(y)]
		for c, av := range row {
			y[c] += xv * av
		}
	}
}
