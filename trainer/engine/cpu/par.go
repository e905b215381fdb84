package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
)

// exec runs kernels across cores. Every parallel loop splits its work into
// chunks whose boundaries depend only on the problem size, never on the
// number of workers, and each output element is written by exactly one
// chunk with a fixed reduction order inside it. Results are therefore
// bit-identical whatever GOMAXPROCS is; the worker count only changes
// which goroutine runs a chunk.
type exec struct {
	blas blas.Gemm
}

// workers is the number of goroutines a parallel loop uses.
func workers() int { return runtime.GOMAXPROCS(0) }

// parFor calls f(w, lo, hi) for consecutive chunks [lo, hi) of [0, n) of
// size grain (the last may be shorter). w in [0, workers()) identifies the
// goroutine, for per-worker scratch space only.
func parFor(n, grain int, f func(w, lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	nw := min(workers(), chunks)
	if nw <= 1 {
		for c := 0; c < chunks; c++ {
			f(0, c*grain, min(n, (c+1)*grain))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(nw)
	for w := 0; w < nw; w++ {
		go func(w int) {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				f(w, c*grain, min(n, (c+1)*grain))
			}
		}(w)
	}
	wg.Wait()
}

// A parallel GEMM splits the larger of m and n into at most gemmMaxChunks
// chunks (enough to balance a few cores; more chunks would make OpenBLAS
// re-pack the shared operand more often), each of at least gemmMinMACs
// multiply-adds (a small product is not worth splitting).
const (
	gemmMaxChunks = 8
	gemmMinMACs   = 1 << 20
)

// chunkSize is the fixed chunk length along a dimension of length d whose
// every index costs perIndex multiply-adds; a multiple of 16.
func chunkSize(d, perIndex int) int {
	size := max((d+gemmMaxChunks-1)/gemmMaxChunks, (gemmMinMACs+perIndex-1)/max(1, perIndex))
	return (size + 15) &^ 15
}

// gemm is a parallel Sgemm (alpha 1) with the same contract as
// blas.Gemm.Sgemm.
func (e *exec) gemm(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if m >= n {
		rows := chunkSize(m, n*k)
		if rows >= m {
			e.blas.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
			return
		}
		parFor(m, rows, func(_, lo, hi int) {
			aOff := lo * lda
			if tA {
				aOff = lo
			}
			e.blas.Sgemm(tA, tB, hi-lo, n, k, 1, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	cols := chunkSize(n, m*k)
	if cols >= n {
		e.blas.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	parFor(n, cols, func(_, lo, hi int) {
		bOff := lo
		if tB {
			bOff = lo * ldb
		}
		e.blas.Sgemm(tA, tB, m, hi-lo, k, 1, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
	})
}

// colSum adds the column sums of x ([rows, width], row stride ld) to dst,
// each column summed over rows in order.
func colSum(dst, x []float32, rows, width, ld int) {
	parFor(width, 64, func(_, lo, hi int) {
		acc := make([]float32, hi-lo)
		for i := 0; i < rows; i++ {
			row := x[i*ld+lo : i*ld+hi]
			for j, v := range row {
				acc[j] += v
			}
		}
		for j, v := range acc {
			dst[lo+j] += v
		}
	})
}

// grow returns s resized to n, reusing its storage when large enough. The
// contents are not cleared.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}
