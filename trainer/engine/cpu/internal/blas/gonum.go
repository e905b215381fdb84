package blas

import (
	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Gonum is gonum's pure-Go blas32. gonum parallelises large products over
// fixed blocks of C, each reduced over k in a fixed order, so its results do
// not depend on GOMAXPROCS either.
type Gonum struct{}

// Name implements Gemm.
func (Gonum) Name() string { return "gonum" }

// Sgemm implements Gemm.
func (Gonum) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := gblas.NoTrans, gblas.NoTrans
	if transA {
		ta = gblas.Trans
	}
	if transB {
		tb = gblas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var _ Gemm = Gonum{}
