package experiment

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Bootstrap confidence intervals over seeds. Every interval is the 2.5th
// and 97.5th percentile of a statistic recomputed on bootstrapDraws
// resamples (with replacement) of an arm's seeds, from a fixed random
// stream, so compare.json is reproducible.
const (
	bootstrapDraws = 4000
	bootstrapSeed  = 0x5245_5749_4e44_4349 // "REWINDCI"
)

// CI is a point estimate with a 95% bootstrap interval. Lo or Hi may be
// +Inf (a quantity that was not reached in that share of resamples:
// JSON null) and all three are NaN when there is nothing to estimate.
type CI struct {
	Value Value `json:"value"`
	Lo    Value `json:"lo"`
	Hi    Value `json:"hi"`
	N     int   `json:"n"` // seeds (or units) it rests on
}

func newRNG() *rand.Rand { return rand.New(rand.NewPCG(bootstrapSeed, 1)) }

// percentileCI is the 2.5th and 97.5th percentile of xs (which it sorts;
// +Inf allowed, NaN left out).
func percentileCI(xs []float64) (lo, hi float64) {
	var fin []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			fin = append(fin, x)
		}
	}
	if len(fin) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(fin)
	at := func(q float64) float64 {
		// Nearest rank: the smallest value with at least q of the mass at
		// or below it.
		i := int(math.Ceil(q*float64(len(fin)))) - 1
		return fin[min(max(i, 0), len(fin)-1)]
	}
	return at(0.025), at(0.975)
}

// resample draws len(n) indices in 0..n-1 with replacement.
func resample(rng *rand.Rand, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = rng.IntN(n)
	}
	return idx
}

// MeanCI is the mean of xs (NaNs left out) with its bootstrap interval.
func MeanCI(xs []float64) CI {
	var fin []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			fin = append(fin, x)
		}
	}
	nan := Value(math.NaN())
	if len(fin) == 0 {
		return CI{Value: nan, Lo: nan, Hi: nan}
	}
	rng := newRNG()
	means := make([]float64, bootstrapDraws)
	for b := range means {
		s := 0.0
		for _, i := range resample(rng, len(fin)) {
			s += fin[i]
		}
		means[b] = s / float64(len(fin))
	}
	lo, hi := percentileCI(means)
	return CI{Value: Value(meanOf(fin)), Lo: Value(lo), Hi: Value(hi), N: len(fin)}
}

// RatioCI is sum(num)/sum(den) pooled over units (seeds), with the
// bootstrap interval of the pooled ratio over resampled units. Units
// with den 0 count as resampled units that add nothing.
func RatioCI(num, den []float64) CI {
	nan := Value(math.NaN())
	ratio := func(idx []int) float64 {
		n, d := 0.0, 0.0
		for _, i := range idx {
			n, d = n+num[i], d+den[i]
		}
		if d == 0 {
			return math.NaN()
		}
		return n / d
	}
	all := make([]int, len(num))
	for i := range all {
		all[i] = i
	}
	v := ratio(all)
	if math.IsNaN(v) {
		return CI{Value: nan, Lo: nan, Hi: nan, N: len(num)}
	}
	rng := newRNG()
	rs := make([]float64, bootstrapDraws)
	for b := range rs {
		rs[b] = ratio(resample(rng, len(num)))
	}
	lo, hi := percentileCI(rs)
	return CI{Value: Value(v), Lo: Value(lo), Hi: Value(hi), N: len(num)}
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// EvalCurve is one run's held-out greedy pass@1 against the tokens it
// had generated when each evaluation was made, starting with the warm
// start at 0 tokens. Tokens ascend.
type EvalCurve struct {
	Tokens []float64
	Pass   []float64
}

// at is the curve's value at t by linear interpolation between its
// points; NaN before its first point or past its last.
func (c EvalCurve) at(t float64) float64 {
	n := len(c.Tokens)
	if n == 0 || t < c.Tokens[0] || t > c.Tokens[n-1] {
		return math.NaN()
	}
	i := sort.SearchFloat64s(c.Tokens, t) // first point with Tokens >= t
	if c.Tokens[i] == t || i == 0 {
		return c.Pass[i]
	}
	t0, t1 := c.Tokens[i-1], c.Tokens[i]
	return c.Pass[i-1] + (c.Pass[i]-c.Pass[i-1])*(t-t0)/(t1-t0)
}

// end is the last token count of the curve (0 for an empty one).
func (c EvalCurve) end() float64 {
	if len(c.Tokens) == 0 {
		return 0
	}
	return c.Tokens[len(c.Tokens)-1]
}

// meanCurve is the mean over curves (those indexed by idx) of their
// values on grid.
func meanCurve(curves []EvalCurve, idx []int, grid []float64) []float64 {
	out := make([]float64, len(grid))
	for g, t := range grid {
		s := 0.0
		for _, i := range idx {
			s += curves[i].at(t)
		}
		out[g] = s / float64(len(idx))
	}
	return out
}

// firstReach is the first t at which a curve sampled on grid reaches
// target, interpolating linearly between grid points; +Inf when it never
// does.
func firstReach(grid, vals []float64, target float64) float64 {
	for g, v := range vals {
		if v >= target {
			if g == 0 {
				return grid[0]
			}
			v0 := vals[g-1]
			return grid[g-1] + (grid[g]-grid[g-1])*(target-v0)/(v-v0)
		}
	}
	return math.Inf(1)
}

// evalGrid is n+1 evenly spaced token counts from 0 to top.
func evalGrid(top float64, n int) []float64 {
	g := make([]float64, n+1)
	for i := range g {
		g[i] = top * float64(i) / float64(n)
	}
	return g
}

// TokensToReach is the headline of a comparison: the generated tokens an
// arm needs to reach the baseline's final held-out accuracy, as a
// fraction of the tokens the baseline spent on it.
type TokensToReach struct {
	Baseline string `json:"baseline"`
	Arm      string `json:"arm"`
	// Budget is the common horizon: the fewest tokens any run of the
	// two arms generated (every curve is defined up to it).
	Budget float64 `json:"budget_tokens"`
	// Target is the baseline's seed-mean held-out pass@1 at Budget.
	Target Value `json:"target_pass_at_1"`
	// Tokens is the first token count at which the arm's seed-mean curve
	// reaches Target (null: not within Budget).
	Tokens Value `json:"tokens"`
	// Ratio is Tokens / Budget with its bootstrap interval (seeds of
	// both arms resampled independently; a resample in which the arm
	// does not reach the target counts as +Inf, an open upper end).
	Ratio CI `json:"ratio"`
	// NotReached is the share of resamples in which the arm did not
	// reach the target within Budget.
	NotReached float64 `json:"not_reached"`
}

// tokensGrid is the resolution of the reach computation and of the
// held-out curves.
const tokensGrid = 200

// NewTokensToReach computes the headline from the baseline's and the
// arm's held-out curves (one per seed).
func NewTokensToReach(baseline, arm string, base, other []EvalCurve) TokensToReach {
	nan := Value(math.NaN())
	r := TokensToReach{Baseline: baseline, Arm: arm, Target: nan, Tokens: nan, Ratio: CI{Value: nan, Lo: nan, Hi: nan}}
	if len(base) == 0 || len(other) == 0 {
		return r
	}
	top := math.Inf(1)
	for _, c := range append(append([]EvalCurve{}, base...), other...) {
		top = math.Min(top, c.end())
	}
	if !(top > 0) {
		return r
	}
	r.Budget = top
	grid := evalGrid(top, tokensGrid)
	all := func(n int) []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	reach := func(bi, oi []int) (target, tokens float64) {
		bm := meanCurve(base, bi, grid)
		target = bm[len(bm)-1]
		return target, firstReach(grid, meanCurve(other, oi, grid), target)
	}
	target, tokens := reach(all(len(base)), all(len(other)))
	r.Target, r.Tokens = Value(target), Value(tokens)
	r.Ratio.Value, r.Ratio.N = Value(tokens/top), len(other)
	rng := newRNG()
	rs := make([]float64, bootstrapDraws)
	miss := 0
	for b := range rs {
		_, t := reach(resample(rng, len(base)), resample(rng, len(other)))
		rs[b] = t / top
		if math.IsInf(t, 1) {
			miss++
		}
	}
	lo, hi := percentileCI(rs)
	r.Ratio.Lo, r.Ratio.Hi = Value(lo), Value(hi)
	r.NotReached = float64(miss) / float64(len(rs))
	return r
}

// CurveBand is an arm's held-out pass@1 against generated tokens: on a
// common grid, the seed mean and the seeds' min and max.
type CurveBand struct {
	Tokens []float64 `json:"tokens"`
	Mean   []Value   `json:"mean"`
	Min    []Value   `json:"min"`
	Max    []Value   `json:"max"`
}

// NewCurveBand samples curves on n+1 points from 0 to top.
func NewCurveBand(curves []EvalCurve, top float64, n int) CurveBand {
	var b CurveBand
	if len(curves) == 0 || !(top > 0) {
		return b
	}
	for _, t := range evalGrid(top, n) {
		vals := make([]float64, len(curves))
		for i, c := range curves {
			vals[i] = c.at(t)
		}
		s := NewSpread(vals)
		b.Tokens = append(b.Tokens, t)
		b.Mean, b.Min, b.Max = append(b.Mean, s.Mean), append(b.Min, s.Min), append(b.Max, s.Max)
	}
	return b
}

// PairedDiffCI is the mean of after[i] - before[i] over paired outcomes
// (the same held-out tasks before and after training), with the
// bootstrap interval over resampled tasks. Pairs where either side is
// unusable are left out by the caller.
func PairedDiffCI(before, after []bool) CI {
	nan := Value(math.NaN())
	n := min(len(before), len(after))
	if n == 0 {
		return CI{Value: nan, Lo: nan, Hi: nan}
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = b2f(after[i]) - b2f(before[i])
	}
	c := MeanCI(d)
	c.N = n
	return c
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
