package cpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpf(t *testing.T) {
	for x := float32(-100); x < 90; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		switch {
		case x < -87.33654:
			require.Zero(t, got)
		case x > 88.72283:
			require.True(t, math.IsInf(got, 1))
		case want < 1e-37: // subnormal range: absolute error
			require.InDelta(t, want, got, 1e-44, "x=%v", x)
		default:
			require.InEpsilon(t, want, got, 3e-7, "x=%v", x)
		}
	}
}
