package vec

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAxpy(t *testing.T) {
	asm := useAsm
	defer func() { useAsm = asm }()
	for _, useAsm = range []bool{asm, false} {
		testAxpy(t)
	}
}

func testAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 70; n++ {
		x, y := make([]float32, n), make([]float32, n+3)
		for i := range x {
			x[i] = r.Float32() - 0.5
		}
		for i := range y {
			y[i] = r.Float32() - 0.5
		}
		want := append([]float32(nil), y...)
		for i := range x {
			want[i] = float32(float64(want[i]) + 0.7*float64(x[i]))
		}
		got := append([]float32(nil), y...)
		Axpy(0.7, x, got)
		for i := range want {
			require.InDelta(t, want[i], got[i], 1e-6, "n=%d i=%d", n, i)
		}
		require.Equal(t, y[n:], got[n:], "n=%d: wrote past len(x)", n)
	}
	require.Panics(t, func() { Axpy(1, make([]float32, 4), make([]float32, 3)) })
}

func BenchmarkAxpy(b *testing.B) {
	x, y := make([]float32, 64), make([]float32, 64)
	for i := 0; i < b.N; i++ {
		Axpy(0.5, x, y)
	}
}
