// Package vec holds the few vector kernels the CPU engine runs outside
// BLAS: y += alpha*x on short vectors, where a cgo call into BLAS would cost
// more than the arithmetic. On amd64 with AVX2 and FMA it runs in
// assembly; elsewhere in Go.
package vec

// Axpy sets y[i] += alpha*x[i] for i < len(x). y must be at least as long
// as x. The result is a function of the inputs on a given machine (one
// code path is chosen at start-up).
func Axpy(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1]
	if useAsm {
		axpyAVX2(alpha, x, y)
		return
	}
	axpyGo(alpha, x, y)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
