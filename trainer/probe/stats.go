package probe

import (
	"math"
	"math/rand/v2"
	"slices"
)

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// Rate is a success count out of a number of trials with its 95% Wilson
// score interval.
type Rate struct {
	Successes int     `json:"successes"`
	Trials    int     `json:"trials"`
	Rate      float64 `json:"rate"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
}

// NewRate returns successes/trials with its Wilson interval; zero trials
// give rate 0 and the interval [0, 1].
func NewRate(successes, trials int) Rate {
	r := Rate{Successes: successes, Trials: trials, High: 1}
	if trials <= 0 {
		return r
	}
	r.Rate = float64(successes) / float64(trials)
	r.Low, r.High = Wilson(successes, trials)
	return r
}

// Wilson is the 95% Wilson score interval of a binomial proportion. Unlike
// the normal approximation it stays inside [0, 1] and is not degenerate at
// 0 or n successes, which is where the erroneous-prefix rate of a model
// whose steps matter sits.
func Wilson(successes, trials int) (low, high float64) {
	if trials <= 0 {
		return 0, 1
	}
	n := float64(trials)
	p := float64(successes) / n
	z2 := z95 * z95
	den := 1 + z2/n
	centre := (p + z2/(2*n)) / den
	half := z95 * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return max(0, centre-half), min(1, centre+half)
}

// pair is one failure's continuation counts from its clean and its
// erroneous prefix (trials 0 when it has no such prefix).
type pair struct {
	cleanOK, cleanN, errOK, errN int
}

// ratio is the clean success rate over the erroneous one, summed over the
// failures; +Inf when the erroneous rate is 0 and the clean one is not,
// NaN when either has no trials or both rates are 0.
func ratio(ps []pair) float64 {
	var c pair
	for _, p := range ps {
		c.cleanOK += p.cleanOK
		c.cleanN += p.cleanN
		c.errOK += p.errOK
		c.errN += p.errN
	}
	if c.cleanN == 0 || c.errN == 0 {
		return math.NaN()
	}
	return (float64(c.cleanOK) / float64(c.cleanN)) / (float64(c.errOK) / float64(c.errN))
}

// bootstrapRatio returns the 95% percentile interval of ratio over b
// resamples of the failures with replacement. Resampling whole failures
// keeps the continuations of one failure together: they share a prefix
// and are not independent trials. Resamples whose ratio is NaN are
// dropped; an infinite bound means the erroneous rate was 0 in more than
// 2.5% of the resamples.
func bootstrapRatio(ps []pair, b int, r *rand.Rand) (low, high float64) {
	if len(ps) == 0 || b <= 0 {
		return math.NaN(), math.NaN()
	}
	rs := make([]float64, 0, b)
	sample := make([]pair, len(ps))
	for range b {
		for i := range sample {
			sample[i] = ps[r.IntN(len(ps))]
		}
		if v := ratio(sample); !math.IsNaN(v) {
			rs = append(rs, v)
		}
	}
	if len(rs) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(rs)
	return quantile(rs, 0.025), quantile(rs, 0.975)
}

// quantile returns the q-quantile of sorted values (linear interpolation
// between order statistics).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	lo, hi := sorted[i], sorted[i+1]
	if math.IsInf(lo, 1) || math.IsInf(hi, 1) {
		if pos == float64(i) {
			return lo
		}
		return math.Inf(1)
	}
	return lo + (pos-float64(i))*(hi-lo)
}
