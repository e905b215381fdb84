package experiment

import (
	"math"
	"sort"
	"strconv"

	"github.com/rewind-rl/rewind/trainer/report"
)

// Value is a number that encodes NaN and infinities as JSON null (a mean
// over nothing, a metric a run did not report).
type Value float64

// MarshalJSON writes null for non-finite values.
func (v Value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Value(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*v = Value(f)
	return err
}

// Spread summarises one measure over seeds: the mean, the sample standard
// deviation (n-1 in the denominator; 0 for one seed), the minimum and
// maximum, and N, the seeds with a finite value (NaNs are left out; with
// N = 0 every field is NaN).
type Spread struct {
	Mean Value `json:"mean"`
	Std  Value `json:"std"`
	Min  Value `json:"min"`
	Max  Value `json:"max"`
	N    int   `json:"n"`
}

// NewSpread summarises xs.
func NewSpread(xs []float64) Spread {
	var fin []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			fin = append(fin, x)
		}
	}
	if len(fin) == 0 {
		n := Value(math.NaN())
		return Spread{Mean: n, Std: n, Min: n, Max: n}
	}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, x := range fin {
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	mean := sum / float64(len(fin))
	ss := 0.0
	for _, x := range fin {
		ss += (x - mean) * (x - mean)
	}
	std := 0.0
	if len(fin) > 1 {
		std = math.Sqrt(ss / float64(len(fin)-1))
	}
	return Spread{Mean: Value(mean), Std: Value(std), Min: Value(lo), Max: Value(hi), N: len(fin)}
}

// movingMean is the trailing mean over w steps of xs, NaNs left out: out[i]
// averages the finite xs[max(0,i-w+1)..i] (NaN when there are none).
func movingMean(xs []float64, w int) []float64 {
	out := make([]float64, len(xs))
	for i := range xs {
		sum, n := 0.0, 0
		for j := max(0, i-w+1); j <= i; j++ {
			if !math.IsNaN(xs[j]) {
				sum += xs[j]
				n++
			}
		}
		out[i] = math.NaN()
		if n > 0 {
			out[i] = sum / float64(n)
		}
	}
	return out
}

// atTokens returns, for each t of grid, the value of the step during
// whose generation the t-th token was produced: the first step i with
// cum[i] >= t (cum is the running total of generated tokens). Past the
// last step the value is NaN.
func atTokens(cum []int, vals []float64, grid []float64) []float64 {
	out := make([]float64, len(grid))
	for g, t := range grid {
		i := sort.Search(len(cum), func(i int) bool { return float64(cum[i]) >= t })
		out[g] = math.NaN()
		if i < len(cum) {
			out[g] = vals[i]
		}
	}
	return out
}

// tokenGrid is n evenly spaced points in (0, top].
func tokenGrid(top float64, n int) []float64 {
	if top <= 0 || n < 1 {
		return nil
	}
	g := make([]float64, n)
	for i := range g {
		g[i] = top * float64(i+1) / float64(n)
	}
	return g
}

// weighted is sum(v*w)/sum(w) over finite v with w > 0 (NaN when none).
func weighted(vals []float64, ws []int) float64 {
	num, den := 0.0, 0.0
	for i, v := range vals {
		if !math.IsNaN(v) && ws[i] > 0 {
			num += v * float64(ws[i])
			den += float64(ws[i])
		}
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// SeedResult is one run of an arm.
type SeedResult struct {
	Seed uint64 `json:"seed"`
	Dir  string `json:"dir"`
	// HeldOut is greedy pass@1 of the final policy on the held-out set.
	HeldOut Value `json:"held_out_pass_at_1"`
	// FinalAccuracy is the unbiased sample accuracy averaged over the
	// last compare.smooth steps.
	FinalAccuracy Value `json:"final_sample_accuracy"`
	// Tokens generated over the run, all phases, and by phase.
	Tokens        int            `json:"tokens"`
	TokensByPhase map[string]int `json:"tokens_by_phase"`
	// LocPrecision and LocRecall over the whole run, each step weighted
	// by its parents with a reported first error.
	LocPrecision Value   `json:"loc_precision"`
	LocRecall    Value   `json:"loc_recall"`
	Steps        int     `json:"steps"`
	WallSec      float64 `json:"wall_sec"`
	// LocParents counts the parents with a reported first error behind
	// LocPrecision and LocRecall.
	LocParents int `json:"loc_parents"`
	// CleanCorrect of CleanN reset continuations were right when the
	// reset kept a clean prefix (k <= the verifier's first error), and
	// ErroneousCorrect of ErroneousN when it kept a wrong step (k > it).
	CleanCorrect     float64 `json:"clean_correct"`
	CleanN           int     `json:"clean_n"`
	ErroneousCorrect float64 `json:"erroneous_correct"`
	ErroneousN       int     `json:"erroneous_n"`
	// FinalEval is the held-out greedy pass@1 of the run's last
	// evaluation during training (run.eval_every; null when none).
	FinalEval Value `json:"final_eval_pass_at_1"`
	// LocAnswered counts the parents with a reported first error whose
	// reset step the localizer chose itself (no fallback), from
	// rollouts.jsonl; LocAnsweredHits those of them at exactly the first
	// error.
	LocAnswered     int `json:"loc_answered"`
	LocAnsweredHits int `json:"loc_answered_hits"`
}

// Curves are an arm's per-step and per-token curves, each point a Spread
// over seeds of the compare.smooth-step moving mean.
type Curves struct {
	Steps            []int    `json:"steps"`
	Accuracy         []Spread `json:"sample_accuracy"`
	Reward           []Spread `json:"fresh_reward"`
	LocPrecision     []Spread `json:"loc_precision"`
	LocRecall        []Spread `json:"loc_recall"`
	Tokens           []int    `json:"tokens"`
	AccuracyByTokens []Spread `json:"sample_accuracy_by_tokens"`
}

// ArmResult is one arm over its seeds.
type ArmResult struct {
	Name          string            `json:"name"`
	Preset        string            `json:"preset"`
	Seeds         []SeedResult      `json:"seeds"`
	HeldOut       Spread            `json:"held_out_pass_at_1"`
	FinalAccuracy Spread            `json:"final_sample_accuracy"`
	Tokens        Spread            `json:"tokens"`
	TokensByPhase map[string]Spread `json:"tokens_by_phase"`
	LocPrecision  Spread            `json:"loc_precision"`
	LocRecall     Spread            `json:"loc_recall"`
	WallSec       Spread            `json:"wall_sec"`
	Curves        Curves            `json:"curves"`
	// HeldOutCI is the final held-out greedy pass@1's seed mean with its
	// bootstrap interval.
	HeldOutCI CI `json:"held_out_pass_at_1_ci"`
	// LocPrecisionCI and LocRecallCI pool every parent with a reported
	// first error over the run and the seeds (bootstrap over seeds).
	LocPrecisionCI CI `json:"loc_precision_ci"`
	LocRecallCI    CI `json:"loc_recall_ci"`
	// LocExactPrecisionCI is precision in the usual sense: the share of
	// the localizer's own answers (fallbacks left out) that name exactly
	// the first error, pooled over the runs (bootstrap over seeds).
	// LocRecallCI is the matching recall (every parent with a reported
	// first error in the denominator) and LocPrecisionCI the share of
	// resets that keep a clean prefix (k <= the first error).
	LocExactPrecisionCI CI `json:"loc_exact_precision_ci"`
	// LocParents and LocAnswered total the seeds' counts.
	LocParents  int `json:"loc_parents"`
	LocAnswered int `json:"loc_answered"`
	// CleanCorrection and ErroneousCorrection are the shares of right
	// reset continuations from clean and from erroneous prefixes, pooled
	// over steps and seeds (bootstrap over seeds); N counts seeds.
	CleanCorrection     CI  `json:"clean_correction"`
	ErroneousCorrection CI  `json:"erroneous_correction"`
	CleanN              int `json:"clean_n"`
	ErroneousN          int `json:"erroneous_n"`
	// HeldOutCurve is held-out greedy pass@1 against generated tokens
	// (the evaluations during the runs, from the warm start at 0) on the
	// comparison's common token grid.
	HeldOutCurve CurveBand `json:"held_out_by_tokens"`
}

// gridPoints is the resolution of the accuracy-by-tokens curves.
const gridPoints = 40

// phases of generated tokens, in the order reports list them.
var phases = []string{"fresh", "parent", "localize", "reset"}

// seedRun is a finished run and its evaluation, the input of aggregate.
type seedRun struct {
	seed    uint64
	dir     string
	run     *report.Run
	heldOut float64 // NaN when not evaluated
	wallSec float64
	// curve is the run's held-out evaluations against generated tokens
	// (empty when the run did not evaluate).
	curve EvalCurve
}

// heldOutCurve is a run's held-out evaluations (run.eval_every) against
// the tokens generated up to them, starting from the warm start's value
// warm at 0 tokens; empty when the run made none.
func heldOutCurve(steps []report.Step, warm float64) EvalCurve {
	var c EvalCurve
	for _, s := range steps {
		if math.IsNaN(s.EvalPassAt1) {
			continue
		}
		if len(c.Tokens) == 0 {
			c.Tokens, c.Pass = []float64{0}, []float64{warm}
		}
		c.Tokens, c.Pass = append(c.Tokens, float64(s.CumTokens)), append(c.Pass, s.EvalPassAt1)
	}
	return c
}

// summarizeSeed computes a run's SeedResult.
func summarizeSeed(s seedRun, smooth int) SeedResult {
	st := s.run.Steps
	r := SeedResult{Seed: s.seed, Dir: s.dir, HeldOut: Value(s.heldOut), Steps: len(st), WallSec: s.wallSec,
		TokensByPhase: map[string]int{}, FinalAccuracy: Value(math.NaN()), FinalEval: Value(math.NaN())}
	if n := len(s.curve.Pass); n > 1 {
		r.FinalEval = Value(s.curve.Pass[n-1])
	}
	acc := make([]float64, len(st))
	prec, rec := make([]float64, len(st)), make([]float64, len(st))
	evals := make([]int, len(st))
	for i, x := range st {
		acc[i], prec[i], rec[i], evals[i] = x.SampleAccuracy, x.LocPrecision, x.LocRecall, x.LocEvaluated
		r.Tokens += x.TokensTotal
		r.TokensByPhase["fresh"] += x.TokensFresh
		r.TokensByPhase["parent"] += x.TokensParent
		r.TokensByPhase["localize"] += x.TokensLocalize
		r.TokensByPhase["reset"] += x.TokensReset
		r.LocParents += x.LocEvaluated
		if x.CleanN > 0 {
			r.CleanCorrect += x.CleanCorrection * float64(x.CleanN)
			r.CleanN += x.CleanN
		}
		if x.ErroneousN > 0 {
			r.ErroneousCorrect += x.ErroneousCorrection * float64(x.ErroneousN)
			r.ErroneousN += x.ErroneousN
		}
	}
	for _, x := range s.run.Resets {
		if x.FirstError >= 1 && x.Fallback == "" {
			r.LocAnswered++
			if x.K == x.FirstError {
				r.LocAnsweredHits++
			}
		}
	}
	if mm := movingMean(acc, smooth); len(mm) > 0 {
		r.FinalAccuracy = Value(mm[len(mm)-1])
	}
	r.LocPrecision, r.LocRecall = Value(weighted(prec, evals)), Value(weighted(rec, evals))
	return r
}

// aggregate summarises an arm's runs over seeds. Curves run over the
// steps that every seed reached, and over tokens up to the smallest total.
func aggregate(name, preset string, runs []seedRun, smooth int) ArmResult {
	a := ArmResult{Name: name, Preset: preset, TokensByPhase: map[string]Spread{}}
	var held, final, tokens, prec, rec, wall []float64
	byPhase := map[string][]float64{}
	steps, minTokens := math.MaxInt, math.MaxInt
	for _, s := range runs {
		r := summarizeSeed(s, smooth)
		a.Seeds = append(a.Seeds, r)
		held, final = append(held, float64(r.HeldOut)), append(final, float64(r.FinalAccuracy))
		tokens, wall = append(tokens, float64(r.Tokens)), append(wall, r.WallSec)
		prec, rec = append(prec, float64(r.LocPrecision)), append(rec, float64(r.LocRecall))
		for _, p := range phases {
			byPhase[p] = append(byPhase[p], float64(r.TokensByPhase[p]))
		}
		steps, minTokens = min(steps, len(s.run.Steps)), min(minTokens, r.Tokens)
	}
	a.HeldOut, a.FinalAccuracy, a.Tokens = NewSpread(held), NewSpread(final), NewSpread(tokens)
	a.LocPrecision, a.LocRecall, a.WallSec = NewSpread(prec), NewSpread(rec), NewSpread(wall)
	for _, p := range phases {
		a.TokensByPhase[p] = NewSpread(byPhase[p])
	}
	a.HeldOutCI = MeanCI(held)
	var precNum, recNum, parents, cleanOK, cleanN, wrongOK, wrongN, hits, answered []float64
	for _, r := range a.Seeds {
		hits, answered = append(hits, float64(r.LocAnsweredHits)), append(answered, float64(r.LocAnswered))
		a.LocParents += r.LocParents
		a.LocAnswered += r.LocAnswered
		pn, rn := 0.0, 0.0
		if r.LocParents > 0 {
			pn, rn = float64(r.LocPrecision)*float64(r.LocParents), float64(r.LocRecall)*float64(r.LocParents)
		}
		precNum, recNum, parents = append(precNum, pn), append(recNum, rn), append(parents, float64(r.LocParents))
		cleanOK, cleanN = append(cleanOK, r.CleanCorrect), append(cleanN, float64(r.CleanN))
		wrongOK, wrongN = append(wrongOK, r.ErroneousCorrect), append(wrongN, float64(r.ErroneousN))
		a.CleanN += r.CleanN
		a.ErroneousN += r.ErroneousN
	}
	a.LocPrecisionCI, a.LocRecallCI = RatioCI(precNum, parents), RatioCI(recNum, parents)
	a.LocExactPrecisionCI = RatioCI(hits, answered)
	a.CleanCorrection, a.ErroneousCorrection = RatioCI(cleanOK, cleanN), RatioCI(wrongOK, wrongN)
	if len(runs) == 0 || steps == 0 {
		return a
	}
	curve := func(f func(report.Step) float64) [][]float64 {
		out := make([][]float64, len(runs))
		for i, s := range runs {
			v := make([]float64, steps)
			for j := range v {
				v[j] = f(s.run.Steps[j])
			}
			out[i] = movingMean(v, smooth)
		}
		return out
	}
	across := func(per [][]float64, n int) []Spread {
		out := make([]Spread, n)
		col := make([]float64, len(per))
		for j := range out {
			for i := range per {
				col[i] = per[i][j]
			}
			out[j] = NewSpread(col)
		}
		return out
	}
	accs := curve(func(s report.Step) float64 { return s.SampleAccuracy })
	a.Curves.Accuracy = across(accs, steps)
	a.Curves.Reward = across(curve(func(s report.Step) float64 { return s.FreshReward }), steps)
	a.Curves.LocPrecision = across(curve(func(s report.Step) float64 { return s.LocPrecision }), steps)
	a.Curves.LocRecall = across(curve(func(s report.Step) float64 { return s.LocRecall }), steps)
	for j := range steps {
		a.Curves.Steps = append(a.Curves.Steps, runs[0].run.Steps[j].Step)
	}
	grid := tokenGrid(float64(minTokens), gridPoints)
	byTok := make([][]float64, len(runs))
	for i, s := range runs {
		cum := make([]int, len(s.run.Steps))
		for j, x := range s.run.Steps {
			cum[j] = x.CumTokens
		}
		full := movingMean(stepValues(s.run.Steps, func(s report.Step) float64 { return s.SampleAccuracy }), smooth)
		byTok[i] = atTokens(cum, full, grid)
	}
	a.Curves.AccuracyByTokens = across(byTok, len(grid))
	for _, g := range grid {
		a.Curves.Tokens = append(a.Curves.Tokens, int(math.Round(g)))
	}
	return a
}

func stepValues(st []report.Step, f func(report.Step) float64) []float64 {
	out := make([]float64, len(st))
	for i, s := range st {
		out[i] = f(s)
	}
	return out
}
