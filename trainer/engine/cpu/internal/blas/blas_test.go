package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func impls(t testing.TB) []Gemm {
	out := []Gemm{Gonum{}}
	if g, err := OpenBLAS(); err == nil {
		out = append(out, g)
	} else if os.Getenv(EnvVar) == "openblas" {
		t.Fatalf("OpenBLAS required by %s but not loadable: %v", EnvVar, err)
	} else {
		t.Logf("OpenBLAS not tested: %v", err)
	}
	return out
}

func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return x
	}
	for _, g := range impls(t) {
		for _, tc := range []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 1, 128}, {5, 4, 0}} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%dx%dx%d/ta=%v/tb=%v", g.Name(), tc.m, tc.n, tc.k, ta, tb), func(t *testing.T) {
						m, n, k := tc.m, tc.n, tc.k
						ar, ac := m, k
						if ta {
							ar, ac = k, m
						}
						br, bc := k, n
						if tb {
							br, bc = n, k
						}
						lda, ldb, ldc := ac+3, bc+1, n+2 // strided on purpose
						a, b := fill(ar*lda+1), fill(br*ldb+1)
						c0 := fill(m * ldc)
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						naive(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 0.25, want, ldc)
						g.Sgemm(ta, tb, m, n, k, 0.5, a, lda, b, ldb, 0.25, got, ldc)
						for i := range want {
							require.InDelta(t, want[i], got[i], 1e-4*math.Max(1, math.Abs(float64(want[i]))), "index %d", i)
						}
					})
				}
			}
		}
	}
}

func TestDefaultHonoursEnv(t *testing.T) {
	g, err := Default()
	require.NoError(t, err)
	switch os.Getenv(EnvVar) {
	case "gonum":
		require.Equal(t, "gonum", g.Name())
	case "openblas":
		require.Equal(t, "openblas", g.Name())
	default:
		if _, err := OpenBLAS(); err == nil {
			require.Equal(t, "openblas", g.Name())
		} else {
			require.Equal(t, "gonum", g.Name())
			require.Error(t, Fallback())
		}
	}
}

// BenchmarkSgemm measures the single-threaded SGEMM rate of each
// implementation on a square product (report GFLOP/s).
func BenchmarkSgemm(b *testing.B) {
	for _, g := range impls(b) {
		for _, n := range []int{128, 512} {
			b.Run(fmt.Sprintf("%s/%d", g.Name(), n), func(b *testing.B) {
				x := make([]float32, n*n)
				for i := range x {
					x[i] = float32(i%7) * 0.1
				}
				c := make([]float32, n*n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					g.Sgemm(false, true, n, n, n, 1, x, n, x, n, 0, c, n)
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
