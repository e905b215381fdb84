package experiment

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPercentileCI(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[99-i] = float64(i + 1)
	}
	lo, hi := percentileCI(xs)
	require.Equal(t, 3.0, lo)
	require.Equal(t, 98.0, hi)
	lo, hi = percentileCI([]float64{math.NaN(), 2, math.Inf(1), 1})
	require.Equal(t, 1.0, lo)
	require.True(t, math.IsInf(hi, 1))
	lo, _ = percentileCI(nil)
	require.True(t, math.IsNaN(lo))
}

func TestMeanCI(t *testing.T) {
	c := MeanCI([]float64{0.3, 0.3, 0.3, math.NaN()})
	require.Equal(t, CI{Value: 0.3, Lo: 0.3, Hi: 0.3, N: 3}, c)

	// Five seeds 0.1..0.5: mean 0.3; the bootstrap interval of the mean
	// lies inside [min, max] and around the mean, and is narrower than
	// the range.
	c = MeanCI([]float64{0.1, 0.2, 0.3, 0.4, 0.5})
	require.InDelta(t, 0.3, float64(c.Value), 1e-12)
	require.Equal(t, 5, c.N)
	require.GreaterOrEqual(t, float64(c.Lo), 0.1)
	require.LessOrEqual(t, float64(c.Hi), 0.5)
	require.Less(t, float64(c.Lo), 0.3)
	require.Greater(t, float64(c.Hi), 0.3)
	require.Greater(t, float64(c.Hi-c.Lo), 0.1)
	require.Less(t, float64(c.Hi-c.Lo), 0.4)
	// Deterministic: the same input gives the same interval.
	require.Equal(t, c, MeanCI([]float64{0.1, 0.2, 0.3, 0.4, 0.5}))

	require.True(t, math.IsNaN(float64(MeanCI(nil).Value)))
}

func TestRatioCI(t *testing.T) {
	// Pooled: (1+3)/(2+4), not the mean of 1/2 and 3/4.
	c := RatioCI([]float64{1, 3}, []float64{2, 4})
	require.InDelta(t, 4.0/6, float64(c.Value), 1e-12)
	require.GreaterOrEqual(t, float64(c.Lo), 0.5)
	require.LessOrEqual(t, float64(c.Hi), 0.75)
	require.True(t, math.IsNaN(float64(RatioCI([]float64{0}, []float64{0}).Value)))
}

func TestEvalCurveAndReach(t *testing.T) {
	c := EvalCurve{Tokens: []float64{0, 100, 300}, Pass: []float64{0.2, 0.4, 0.3}}
	require.Equal(t, 0.2, c.at(0))
	require.InDelta(t, 0.3, c.at(50), 1e-12)
	require.Equal(t, 0.4, c.at(100))
	require.InDelta(t, 0.35, c.at(200), 1e-12)
	require.True(t, math.IsNaN(c.at(301)))

	grid := []float64{0, 10, 20, 30}
	require.InDelta(t, 15.0, firstReach(grid, []float64{0.1, 0.2, 0.4, 0.5}, 0.3), 1e-12)
	require.Equal(t, 0.0, firstReach(grid, []float64{0.6, 0.2, 0.4, 0.5}, 0.3))
	require.True(t, math.IsInf(firstReach(grid, []float64{0.1, 0.2, 0.2, 0.2}, 0.3), 1))
}

func TestTokensToReach(t *testing.T) {
	// The baseline climbs from 0.2 to 0.5 over 1000 tokens; its runs end
	// at 1000 and 1100 tokens, so the horizon is 1000 and the target 0.5.
	base := []EvalCurve{
		{Tokens: []float64{0, 500, 1000}, Pass: []float64{0.2, 0.35, 0.5}},
		{Tokens: []float64{0, 500, 1000, 1100}, Pass: []float64{0.2, 0.35, 0.5, 0.6}},
	}
	// The faster arm climbs twice as fast to 0.6 (0.5 at 400 tokens)
	// then stays there (its runs end at 1200).
	fast := []EvalCurve{
		{Tokens: []float64{0, 400, 1200}, Pass: []float64{0.2, 0.5, 0.5}},
		{Tokens: []float64{0, 400, 1200}, Pass: []float64{0.2, 0.5, 0.5}},
	}
	r := NewTokensToReach("grpo", "srpo", base, fast)
	require.Equal(t, 1000.0, r.Budget)
	require.InDelta(t, 0.5, float64(r.Target), 1e-12)
	require.InDelta(t, 400, float64(r.Tokens), 1e-9)
	require.InDelta(t, 0.4, float64(r.Ratio.Value), 1e-12)
	require.InDelta(t, 0.4, float64(r.Ratio.Lo), 1e-12)
	require.InDelta(t, 0.4, float64(r.Ratio.Hi), 1e-12)
	require.Equal(t, 0.0, r.NotReached)

	// Seeds that differ: one climbs to 0.8 at 200 tokens (0.5 at 100),
	// the other to 0.5 at 600. Their mean is 0.2 + 0.00175 t up to 200
	// tokens, 0.5 at 171.4; resamples of only the fast or only the slow
	// seed bound the interval (0.1 and 0.6).
	mixed := []EvalCurve{
		{Tokens: []float64{0, 200, 1000}, Pass: []float64{0.2, 0.8, 0.8}},
		{Tokens: []float64{0, 600, 1000}, Pass: []float64{0.2, 0.5, 0.5}},
	}
	r = NewTokensToReach("grpo", "srpo", base, mixed)
	// The grid has 5-token spacing, and the mean curve is linear
	// between grid points, so the crossing is exact.
	require.InDelta(t, 0.3/0.00175/1000, float64(r.Ratio.Value), 1e-9)
	require.InDelta(t, 0.1, float64(r.Ratio.Lo), 1e-9)
	require.InDelta(t, 0.6, float64(r.Ratio.Hi), 1e-9)

	// An arm that never reaches the target: +Inf tokens, every resample
	// misses.
	slow := []EvalCurve{{Tokens: []float64{0, 1000}, Pass: []float64{0.2, 0.3}}}
	r = NewTokensToReach("grpo", "srpo", base, slow)
	require.True(t, math.IsInf(float64(r.Tokens), 1))
	require.Equal(t, 1.0, r.NotReached)
	require.True(t, math.IsInf(float64(r.Ratio.Hi), 1))
}

func TestCurveBand(t *testing.T) {
	b := NewCurveBand([]EvalCurve{
		{Tokens: []float64{0, 100}, Pass: []float64{0.2, 0.4}},
		{Tokens: []float64{0, 100}, Pass: []float64{0.2, 0.6}},
	}, 100, 2)
	require.Equal(t, []float64{0, 50, 100}, b.Tokens)
	require.InDelta(t, 0.35, float64(b.Mean[1]), 1e-12)
	require.InDelta(t, 0.3, float64(b.Min[1]), 1e-12)
	require.InDelta(t, 0.4, float64(b.Max[1]), 1e-12)
	require.InDelta(t, 0.5, float64(b.Mean[2]), 1e-12)
}

func TestPairedDiffCI(t *testing.T) {
	// 10 tasks: 3 fixed, 1 broken, 6 unchanged: +0.2.
	before := []bool{false, false, false, true, true, false, true, false, true, false}
	after := []bool{true, true, true, false, true, false, true, false, true, false}
	c := PairedDiffCI(before, after)
	require.InDelta(t, 0.2, float64(c.Value), 1e-12)
	require.Equal(t, 10, c.N)
	require.Less(t, float64(c.Lo), 0.2)
	require.Greater(t, float64(c.Hi), 0.2)
	// Ten tasks are too few to exclude no change; a resample holds at
	// most the four changed tasks' worth of movement either way.
	require.Less(t, float64(c.Lo), 0.0)
	require.GreaterOrEqual(t, float64(c.Lo), -0.4)
	require.LessOrEqual(t, float64(c.Hi), 0.6)
	require.True(t, math.IsNaN(float64(PairedDiffCI(nil, nil).Value)))
}
