package experiment

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/report"
)

var nan = math.NaN()

func TestNewSpread(t *testing.T) {
	for _, tt := range []struct {
		name string
		xs   []float64
		want Spread
	}{
		// mean 0.4; deviations -0.2, 0, 0.2: sum of squares 0.08, /2 = 0.04, std 0.2
		{"three", []float64{0.2, 0.4, 0.6}, Spread{Mean: 0.4, Std: 0.2, Min: 0.2, Max: 0.6, N: 3}},
		// mean 3; squares 4+0+4+... : 1,3,5 -> 4+0+4 = 8, /2 = 4, std 2
		{"nan left out", []float64{1, nan, 5, 3}, Spread{Mean: 3, Std: 2, Min: 1, Max: 5, N: 3}},
		{"one seed", []float64{0.7}, Spread{Mean: 0.7, Std: 0, Min: 0.7, Max: 0.7, N: 1}},
		// mean 0.5, squares 0.25+0.25 = 0.5, /1, std sqrt(0.5)
		{"two", []float64{0, 1}, Spread{Mean: 0.5, Std: Value(math.Sqrt(0.5)), Min: 0, Max: 1, N: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := NewSpread(tt.xs)
			require.Equal(t, tt.want.N, got.N)
			for _, p := range [][2]Value{{tt.want.Mean, got.Mean}, {tt.want.Std, got.Std}, {tt.want.Min, got.Min}, {tt.want.Max, got.Max}} {
				require.InDelta(t, float64(p[0]), float64(p[1]), 1e-12)
			}
		})
	}
	empty := NewSpread([]float64{nan})
	require.Zero(t, empty.N)
	require.True(t, math.IsNaN(float64(empty.Mean)))
	raw, err := json.Marshal(empty)
	require.NoError(t, err)
	require.JSONEq(t, `{"mean":null,"std":null,"min":null,"max":null,"n":0}`, string(raw))
	var back Spread
	require.NoError(t, json.Unmarshal(raw, &back))
	require.True(t, math.IsNaN(float64(back.Std)))
}

func TestMovingMeanAndTokens(t *testing.T) {
	got := movingMean([]float64{1, 3, nan, 5, 7}, 2)
	// [1], [1,3], [3,nan], [nan,5], [5,7]
	require.Equal(t, []float64{1, 2, 3, 5, 6}, got)
	require.True(t, math.IsNaN(movingMean([]float64{nan}, 3)[0]))

	// Steps generated 100, 50 and 150 tokens: cum 100, 150, 300. Token
	// 100 belongs to step 1, 101..150 to step 2, 151..300 to step 3.
	cum := []int{100, 150, 300}
	vals := []float64{0.1, 0.2, 0.3}
	out := atTokens(cum, vals, []float64{50, 100, 120, 150, 151, 300, 301})
	require.Equal(t, []float64{0.1, 0.1, 0.2, 0.2, 0.3, 0.3}, out[:6])
	require.True(t, math.IsNaN(out[6]))
	require.Equal(t, []float64{75, 150, 225, 300}, tokenGrid(300, 4))
	require.Nil(t, tokenGrid(0, 4))

	// (0.5*2 + 1*1 + nan*4) / 3; zero weights count for nothing.
	require.InDelta(t, 2.0/3, weighted([]float64{0.5, 1, nan, 0.9}, []int{2, 1, 4, 0}), 1e-12)
	require.True(t, math.IsNaN(weighted([]float64{0.5}, []int{0})))
}

func steps(acc []float64, tokens []int, prec []float64, evals []int) []report.Step {
	out := make([]report.Step, len(acc))
	cum := 0
	for i := range acc {
		cum += tokens[i]
		out[i] = report.Step{Step: i + 1, SampleAccuracy: acc[i], FreshReward: acc[i], TokensFresh: tokens[i], TokensTotal: tokens[i],
			CumTokens: cum, LocPrecision: prec[i], LocRecall: prec[i] / 2, LocEvaluated: evals[i], EvalPassAt1: nan}
	}
	return out
}

// TestAggregate checks an arm of two seeds of three steps by hand.
func TestAggregate(t *testing.T) {
	a := seedRun{seed: 1, dir: "a", heldOut: 0.30, wallSec: 10,
		run: &report.Run{Steps: steps([]float64{0.2, 0.4, 0.6}, []int{100, 100, 100}, []float64{0.5, 1, nan}, []int{2, 2, 0})}}
	b := seedRun{seed: 2, dir: "b", heldOut: 0.50, wallSec: 14,
		run: &report.Run{Steps: steps([]float64{0.0, 0.2, 0.2}, []int{200, 200, 200}, []float64{0, 0.5, 1}, []int{1, 1, 2})}}
	arm := aggregate("srpo", "srpo", []seedRun{a, b}, 2)

	require.Len(t, arm.Seeds, 2)
	// Final sample accuracy: mean of the last 2 steps: a (0.4+0.6)/2 = 0.5, b 0.2.
	require.InDelta(t, 0.5, float64(arm.Seeds[0].FinalAccuracy), 1e-12)
	require.InDelta(t, 0.2, float64(arm.Seeds[1].FinalAccuracy), 1e-12)
	require.InDelta(t, 0.35, float64(arm.FinalAccuracy.Mean), 1e-12)
	// std of {0.5, 0.2}: |0.5-0.2|/sqrt(2)
	require.InDelta(t, 0.3/math.Sqrt2, float64(arm.FinalAccuracy.Std), 1e-12)
	require.InDelta(t, 0.4, float64(arm.HeldOut.Mean), 1e-12)
	require.InDelta(t, 0.3, float64(arm.HeldOut.Min), 1e-12)
	require.InDelta(t, 0.5, float64(arm.HeldOut.Max), 1e-12)
	// Precision weighted by evaluated parents: a (0.5*2+1*2)/4 = 0.75, b (0+0.5+2)/4 = 0.625.
	require.InDelta(t, 0.75, float64(arm.Seeds[0].LocPrecision), 1e-12)
	require.InDelta(t, 0.625, float64(arm.Seeds[1].LocPrecision), 1e-12)
	require.InDelta(t, 0.6875, float64(arm.LocPrecision.Mean), 1e-12)
	require.Equal(t, 300, arm.Seeds[0].Tokens)
	require.InDelta(t, 450, float64(arm.Tokens.Mean), 1e-12)
	require.InDelta(t, 450, float64(arm.TokensByPhase["fresh"].Mean), 1e-12)
	require.InDelta(t, 12, float64(arm.WallSec.Mean), 1e-12)

	c := arm.Curves
	require.Equal(t, []int{1, 2, 3}, c.Steps)
	// Step curves after the 2-step moving mean: a 0.2, 0.3, 0.5; b 0, 0.1, 0.2.
	for i, want := range []float64{0.1, 0.2, 0.35} {
		require.InDelta(t, want, float64(c.Accuracy[i].Mean), 1e-12, "step %d", i+1)
	}
	require.InDelta(t, 0.5, float64(c.Accuracy[2].Max), 1e-12)
	// Precision curve at step 3: a's moving mean over (1, nan) = 1, b's over (0.5, 1) = 0.75.
	require.InDelta(t, 0.875, float64(c.LocPrecision[2].Mean), 1e-12)
	// Token grid up to the smaller total (300) in 40 points; at 300 tokens
	// a is at its step 3 (0.5) and b at its step 2 (cum 200 < 300 <= 400: 0.1).
	require.Len(t, c.Tokens, gridPoints)
	require.Equal(t, 300, c.Tokens[gridPoints-1])
	require.InDelta(t, 0.3, float64(c.AccuracyByTokens[gridPoints-1].Mean), 1e-12)
	// At 150 tokens: a step 2 (0.3), b step 1 (0).
	require.Equal(t, 150, c.Tokens[19])
	require.InDelta(t, 0.15, float64(c.AccuracyByTokens[19].Mean), 1e-12)
}

// TestAggregateUnequalSteps: curves stop at the shortest run.
func TestAggregateUnequalSteps(t *testing.T) {
	a := seedRun{run: &report.Run{Steps: steps([]float64{0.2, 0.4, 0.6}, []int{1, 1, 1}, []float64{nan, nan, nan}, []int{0, 0, 0})}, heldOut: nan}
	b := seedRun{run: &report.Run{Steps: steps([]float64{0.0, 0.2}, []int{1, 1}, []float64{nan, nan}, []int{0, 0})}, heldOut: nan}
	arm := aggregate("grpo", "grpo", []seedRun{a, b}, 1)
	require.Len(t, arm.Curves.Accuracy, 2)
	require.Zero(t, arm.HeldOut.N)
	require.Zero(t, arm.LocPrecision.N, "GRPO has no localizer")
	require.Equal(t, "-", cell(arm.LocPrecision, 3))
	// Each run's own last step: 0.6 and 0.2.
	require.Equal(t, "0.400 ± 0.283 [0.200, 0.600]", cell(arm.FinalAccuracy, 3))
}

// TestAggregatePooled checks the pooled reset and localizer statistics
// and the held-out curve of a run by hand.
func TestAggregatePooled(t *testing.T) {
	mk := func(clean, cleanN, wrong, wrongN []float64, prec []float64, parents []int) *report.Run {
		st := steps([]float64{0.1, 0.1}, []int{100, 100}, prec, parents)
		for i := range st {
			st[i].CleanCorrection, st[i].CleanN = clean[i], int(cleanN[i])
			st[i].ErroneousCorrection, st[i].ErroneousN = wrong[i], int(wrongN[i])
			st[i].EvalPassAt1 = nan
		}
		st[1].EvalPassAt1 = 0.4
		return &report.Run{Steps: st}
	}
	// Seed a: clean 0.5 of 4 then 1 of 4 (6/8), erroneous 0 of 4 and
	// none; precision 1 (2 parents) then 0.5 (2): 3 of 4 parents.
	a := seedRun{seed: 1, heldOut: 0.4, run: mk([]float64{0.5, 1}, []float64{4, 4}, []float64{0, nan}, []float64{4, 0}, []float64{1, 0.5}, []int{2, 2})}
	// Seed b: clean 0 of 2 (0/2), erroneous 0.25 of 4 (1/4); precision
	// 0 of 2 parents then none.
	b := seedRun{seed: 2, heldOut: 0.2, run: mk([]float64{0, nan}, []float64{2, 0}, []float64{0.25, nan}, []float64{4, 0}, []float64{0, nan}, []int{2, 0})}
	a.curve, b.curve = heldOutCurve(a.run.Steps, 0.3), heldOutCurve(b.run.Steps, 0.3)
	require.Equal(t, EvalCurve{Tokens: []float64{0, 200}, Pass: []float64{0.3, 0.4}}, a.curve)

	arm := aggregate("srpo", "srpo", []seedRun{a, b}, 1)
	require.InDelta(t, 6.0/10, float64(arm.CleanCorrection.Value), 1e-12)
	require.InDelta(t, 1.0/8, float64(arm.ErroneousCorrection.Value), 1e-12)
	require.Equal(t, 10, arm.CleanN)
	require.Equal(t, 8, arm.ErroneousN)
	// Pooled precision: (3 + 0) of 6 parents; a resample of only seed a
	// gives 0.75, only seed b 0.
	require.InDelta(t, 0.5, float64(arm.LocPrecisionCI.Value), 1e-12)
	require.InDelta(t, 0, float64(arm.LocPrecisionCI.Lo), 1e-12)
	require.InDelta(t, 0.75, float64(arm.LocPrecisionCI.Hi), 1e-12)
	require.InDelta(t, 0.3, float64(arm.HeldOutCI.Value), 1e-12)
	require.InDelta(t, 0.4, float64(arm.Seeds[0].FinalEval), 1e-12)
	require.Empty(t, heldOutCurve(steps([]float64{0.1}, []int{1}, []float64{nan}, []int{0}), 0.3).Tokens, "no evaluation, no curve")
}

// TestAggregateExactPrecision: precision in the usual sense counts only
// the localizer's own answers (fallbacks left out) and parents with a
// reported first error; recall and the clean-prefix share keep every
// parent (they come from metrics.jsonl).
func TestAggregateExactPrecision(t *testing.T) {
	run := func(resets ...report.Reset) *report.Run {
		return &report.Run{Steps: steps([]float64{0.1}, []int{100}, []float64{nan}, []int{0}), Resets: resets}
	}
	// Seed a: 3 own answers, 2 at the first error; a parse fallback at
	// the first error and a parent without one do not count.
	a := seedRun{seed: 1, heldOut: nan, run: run(
		report.Reset{K: 2, FirstError: 2}, report.Reset{K: 1, FirstError: 1}, report.Reset{K: 3, FirstError: 1},
		report.Reset{K: 1, FirstError: 1, Fallback: "parse"}, report.Reset{K: 2, FirstError: 0})}
	// Seed b: 1 own answer, wrong; a no-error fallback.
	b := seedRun{seed: 2, heldOut: nan, run: run(report.Reset{K: 4, FirstError: 2}, report.Reset{K: 1, FirstError: 3, Fallback: "no-error"})}
	arm := aggregate("rrpo", "rrpo", []seedRun{a, b}, 1)
	require.Equal(t, 3, arm.Seeds[0].LocAnswered)
	require.Equal(t, 2, arm.Seeds[0].LocAnsweredHits)
	require.Equal(t, 1, arm.Seeds[1].LocAnswered)
	require.Equal(t, 0, arm.Seeds[1].LocAnsweredHits)
	require.Equal(t, 4, arm.LocAnswered)
	// Pooled: 2 of 4; only seed a resampled: 2/3, only seed b: 0.
	require.InDelta(t, 0.5, float64(arm.LocExactPrecisionCI.Value), 1e-12)
	require.InDelta(t, 0, float64(arm.LocExactPrecisionCI.Lo), 1e-12)
	require.InDelta(t, 2.0/3, float64(arm.LocExactPrecisionCI.Hi), 1e-12)

	// GRPO has no resets: no precision.
	g := aggregate("grpo", "grpo", []seedRun{{seed: 1, heldOut: nan, run: run()}}, 1)
	require.True(t, math.IsNaN(float64(g.LocExactPrecisionCI.Value)))
}
