package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGemvT(t *testing.T) {
	asm := useAsm
	defer func() { useAsm = asm }()
	r := rand.New(rand.NewPCG(1, 2))
	for _, useAsm = range []bool{asm, false} {
		for _, rows := range []int{0, 1, 3, 68, 129} {
			for _, cols := range []int{1, 5, 8, 13, 32, 45, 64, 100} {
				lda := cols + r.IntN(3)
				x := make([]float32, rows)
				a := make([]float32, max(0, (rows-1)*lda+cols))
				for i := range x {
					x[i] = r.Float32() - 0.5
				}
				for i := range a {
					a[i] = r.Float32() - 0.5
				}
				y := make([]float32, cols+2)
				for i := range y {
					y[i] = 99
				}
				GemvT(x, a, lda, y[:cols])
				for c := 0; c < cols; c++ {
					var want float64
					for k := 0; k < rows; k++ {
						want += float64(x[k]) * float64(a[k*lda+c])
					}
					require.InDelta(t, want, y[c], 1e-5, "asm=%v rows=%d cols=%d c=%d", useAsm, rows, cols, c)
				}
				require.Equal(t, []float32{99, 99}, y[cols:], "wrote past y")
			}
		}
	}
	require.Panics(t, func() { GemvT(make([]float32, 2), make([]float32, 5), 4, make([]float32, 4)) })
}

func BenchmarkGemvT(b *testing.B) {
	for _, sh := range [][2]int{{32, 68}, {68, 32}} {
		b.Run(fmt.Sprintf("%dx%d", sh[0], sh[1]), func(b *testing.B) {
			x, a, y := make([]float32, sh[0]), make([]float32, sh[0]*sh[1]), make([]float32, sh[1])
			for i := 0; i < b.N; i++ {
				GemvT(x, a, sh[1], y)
			}
		})
	}
}
