package blas

import (
	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Gonum is gonum's pure-Go blas32, called on tiles of C small enough that
// gonum never goes parallel: gonum's parallel path reduces over k in
// 64-wide blocks while its serial path does not, so without tiling a row's
// result would depend on the size of the whole product (and so on what
// else shares a batch). With tiling every element of C is reduced over k
// in one fixed order.
type Gonum struct{}

// gonumTileM and gonumTileN keep blocks(m, 64) * blocks(n, 64) below
// gonum's minParBlock (4).
const gonumTileM, gonumTileN = 64, 128

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
	impl := blas32.Implementation()
	for i := 0; i < m; i += gonumTileM {
		mi := min(gonumTileM, m-i)
		aOff := i * lda
		if transA {
			aOff = i
		}
		for j := 0; j < n; j += gonumTileN {
			nj := min(gonumTileN, n-j)
			bOff := j
			if transB {
				bOff = j * ldb
			}
			impl.Sgemm(ta, tb, mi, nj, k, alpha, a[aOff:], lda, b[bOff:], ldb, beta, c[i*ldc+j:], ldc)
		}
	}
}

var _ Gemm = Gonum{}
