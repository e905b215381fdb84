// Package blas is the single-precision matrix multiply behind the CPU
// engine: OpenBLAS loaded at run time where it is installed, gonum's
// pure-Go blas32 otherwise.
//
// Every implementation runs single-threaded: the engine splits work across
// cores itself with a fixed partition, so results do not depend on
// GOMAXPROCS or on OpenBLAS's thread count.
package blas

import (
	"fmt"
	"os"
	"sync"
)

// Gemm computes C = alpha * op(A) * op(B) + beta * C for row-major
// matrices, where op(X) is X or its transpose. C is m x n, op(A) is m x k,
// op(B) is k x n; lda, ldb and ldc are the row strides of A, B and C as
// stored. Implementations are safe for concurrent use and must not start
// threads of their own.
type Gemm interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	// Name is "openblas" or "gonum".
	Name() string
}

// EnvVar selects the implementation: "gonum" forces the pure-Go path,
// "openblas" requires OpenBLAS (an error when it cannot be loaded), empty
// or "auto" uses OpenBLAS when it loads.
const EnvVar = "REWIND_BLAS"

var (
	once    sync.Once
	def     Gemm
	defErr  error
	loadErr error // why OpenBLAS is not in use, for diagnostics
)

// Default returns the implementation chosen by REWIND_BLAS (see EnvVar).
// The choice is made once per process.
func Default() (Gemm, error) {
	once.Do(func() {
		switch v := os.Getenv(EnvVar); v {
		case "gonum":
			def = Gonum{}
		case "openblas":
			def, defErr = OpenBLAS()
			if defErr != nil {
				defErr = fmt.Errorf("%s=openblas: %w (install libopenblas0, or set %s=gonum)", EnvVar, defErr, EnvVar)
			}
		case "", "auto":
			g, err := OpenBLAS()
			if err != nil {
				loadErr = err
				def = Gonum{}
			} else {
				def = g
			}
		default:
			defErr = fmt.Errorf("%s=%q: want gonum, openblas or auto", EnvVar, v)
		}
	})
	return def, defErr
}

// Fallback reports why OpenBLAS is not in use under "auto", or nil.
func Fallback() error { Default(); return loadErr }
