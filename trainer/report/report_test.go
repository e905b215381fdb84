package report

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/report/internal/svg"
)

// The fixture testdata/run-srpo was written by trainer/run (SRPO, 6 steps
// of 3 prompts on the sum family from a warm-started tiny model, the
// procverify verifier, then run.Eval for eval.json). Expected values
// below were read off its files by hand.
func TestReadRunFixture(t *testing.T) {
	r, err := ReadRun("testdata/run-srpo")
	require.NoError(t, err)
	require.Equal(t, "srpo", r.Preset)
	require.Equal(t, "srpo", r.Algo)
	require.Equal(t, "self", r.Localizer)
	require.EqualValues(t, 1, r.Seed)
	require.Len(t, r.Steps, 6)
	require.True(t, r.HasRollouts)

	s1 := r.Steps[0]
	require.Equal(t, 1, s1.Step)
	// tokens: fresh 532 + parent 133 + localize 30 + reset 460
	require.Equal(t, 1155, s1.TokensTotal)
	require.Equal(t, 1155, s1.CumTokens)
	require.Equal(t, 2302, r.Steps[1].CumTokens)
	require.Equal(t, 6727, r.Steps[5].CumTokens)
	require.InDelta(t, 2.0/15, s1.FreshAccuracy, 1e-12)
	// 3 prompts x the first 5 fresh samples; 2 of the 15 are correct.
	require.Equal(t, 15, s1.SampleN)
	require.InDelta(t, 2.0/15, s1.SampleAccuracy, 1e-12)
	require.InDelta(t, 3.0/15, r.Steps[2].SampleAccuracy, 1e-12)
	require.InDelta(t, 2.0/3, s1.LocPrecision, 1e-12)
	require.Equal(t, 3, s1.LocEvaluated)
	require.InDelta(t, 0.25, s1.ErroneousCorrection, 1e-12)
	require.False(t, math.IsNaN(s1.Loss))

	// 3 parents per step; the first step's reset points (k of n).
	require.Len(t, r.Resets, 18)
	require.Equal(t, Reset{Step: 1, K: 2, N: 2, FirstError: 1}, r.Resets[0])
	// 15 fresh + 12 reset trajectories graded a step, every verdict ok.
	require.Equal(t, 6*27, r.Statuses["ok"])
	require.Equal(t, 6*27, r.Plugins["procverify"]["verify:ok"])
	require.NotNil(t, r.Summary)
	require.InDelta(t, 2.0/30, r.Eval["pass_at_1_greedy"], 1e-12)
}

// TestReadRunDefensive: absent keys read as NaN or zero, a GRPO line has
// no reset statistics, a torn last line (a killed writer) is skipped, and
// a run without rollouts has no sample accuracy.
func TestReadRunDefensive(t *testing.T) {
	dir := t.TempDir()
	lines := `{"step":1,"rollout":{"fresh":{"trajectories":8,"reward":0.5,"accuracy":0.5},"resets":0,"reset_step":0,"tokens":{"fresh":100}},"update":null,"time":{"step_sec":2}}
{"step":2,"rollout":{"fresh":{"trajectories":0},"tokens":{"fresh":50,"parent":7},"localizer":{"evaluated":2,"precision":0.5,"recall":0.5,"clean_correction":0.25,"clean_n":4,"erroneous_correction":0,"erroneous_n":4}},"update":{"loss":0.25,"grad_norm":1.5,"lr":0.001},"kl":{"mean":0.02,"max":0.1,"tokens":9},"eval":{"tasks":10,"correct":3,"unusable":1,"pass_at_1":0.3333333333333333}}
{"step":3,"rollout":{"fre`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsFile), []byte(lines), 0o644))
	r, err := ReadRun(dir)
	require.NoError(t, err)
	require.Len(t, r.Steps, 2)
	require.False(t, r.HasRollouts)
	a, b := r.Steps[0], r.Steps[1]
	require.Equal(t, 0.5, a.FreshAccuracy)
	require.True(t, math.IsNaN(a.SampleAccuracy))
	require.True(t, math.IsNaN(a.ResetStep), "a mean over no parents is undefined")
	require.True(t, math.IsNaN(a.Loss), "no update")
	require.True(t, math.IsNaN(a.LocPrecision))
	require.Equal(t, 2.0, a.StepSec)
	require.True(t, math.IsNaN(b.FreshAccuracy), "no fresh trajectory")
	require.Equal(t, 0.25, b.Loss)
	require.Equal(t, 157, b.CumTokens)
	require.True(t, math.IsNaN(a.EvalPassAt1), "no eval on step 1")
	require.True(t, math.IsNaN(a.KL), "no kl penalty on step 1")
	require.Equal(t, 1.0/3, b.EvalPassAt1)
	require.Equal(t, [2]int{10, 3}, [2]int{b.EvalTasks, b.EvalCorrect})
	require.Equal(t, 0.02, b.KL)
	require.Equal(t, [2]int{4, 4}, [2]int{b.CleanN, b.ErroneousN})
	require.Equal(t, 0.25, b.CleanCorrection)

	_, err = ReadRun(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "is not a run directory")

	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsFile), []byte("{\"step\":1}\nnot json\n"), 0o644))
	_, err = ReadRun(dir)
	require.ErrorContains(t, err, "metrics.jsonl:2:")
}

func TestResetHistograms(t *testing.T) {
	resets := []Reset{{K: 1, N: 2}, {K: 2, N: 2}, {K: 1, N: 10}, {K: 3, N: 4}, {K: 1, N: 0}}
	ks, rel := resetHistograms(resets)
	require.Equal(t, []svg.Bar{{Label: "1", Value: 3}, {Label: "2", Value: 1}, {Label: "3", Value: 1}}, ks)
	require.Len(t, rel, 10)
	got := map[string]float64{}
	for _, b := range rel {
		if b.Value > 0 {
			got[b.Label] = b.Value
		}
	}
	// k/n: 0.5 -> (0.4,0.5], 1 -> (0.9,1], 0.1 -> (0,0.1], 0.75 -> (0.7,0.8]; n = 0 has none.
	require.Equal(t, map[string]float64{"0.5": 1, "1.0": 1, "0.1": 1, "0.8": 1}, got)
	ks, rel = resetHistograms(nil)
	require.Nil(t, ks)
	require.Nil(t, rel)
}

func TestRenderRunHTML(t *testing.T) {
	r, err := ReadRun("testdata/run-srpo")
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, RenderRun(&b, r))
	page := b.String()
	requireOffline(t, page)
	for _, want := range []string{`id="chart-accuracy-tokens"`, `id="chart-reset-relpos"`, `id="chart-localizer"`,
		"Held-out evaluation", "pass_at_1_greedy", "procverify", "config.yaml (resolved)", "layout: 1x4"} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "no summary.json")

	// GRPO has no resets: no reset charts.
	r.Algo, r.Summary = "grpo", nil
	b.Reset()
	require.NoError(t, RenderRun(&b, r))
	require.NotContains(t, b.String(), "chart-reset-step")
	require.Contains(t, b.String(), "the run is unfinished")
}

func TestWriteRun(t *testing.T) {
	dir := copyFixture(t, "testdata/run-srpo")
	require.NoError(t, WriteRun(dir))
	raw, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(raw), "<!DOCTYPE html>"))
	left, err := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	require.NoError(t, err)
	require.Empty(t, left, "no temporary file left behind")
}

func TestTicksAndFormat(t *testing.T) {
	for _, tt := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-0.05, 0.26, 5, []float64{0, 0.1, 0.2}},
		{1, 6, 6, []float64{1, 2, 3, 4, 5, 6}},
		{1155, 6727, 6, []float64{2000, 3000, 4000, 5000, 6000}},
		{3, 3, 5, []float64{3}},
	} {
		require.Equal(t, tt.want, svg.Ticks(tt.lo, tt.hi, tt.n), "%v..%v", tt.lo, tt.hi)
	}
	for v, want := range map[float64]string{0: "0", 2: "2", 0.125: "0.125", 12500: "12.5k", 2.5e6: "2.5M", math.NaN(): "-", 1.0 / 3: "0.333"} {
		require.Equal(t, want, svg.Format(v))
	}
}

// TestReportSaysNoUsableVerdicts: a run whose steps had no usable verdict
// is reported as such, never as a reward of 0 (issue 13).
func TestReportSaysNoUsableVerdicts(t *testing.T) {
	dir := t.TempDir()
	lines := `{"step":1,"usable_verdicts":0,"unusable_verdicts":8,"warning":"no usable verdicts: all 8 unusable (malformed 8 (plugin \"bad\")); nothing was trained on","rollout":{"fresh":{"trajectories":0,"reward":0},"tokens":{"fresh":100}},"update":null}
{"step":2,"usable_verdicts":0,"unusable_verdicts":8,"rollout":{"fresh":{"trajectories":0,"reward":0},"tokens":{"fresh":100}},"update":null}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, metricsFile), []byte(lines), 0o644))
	r, err := ReadRun(dir)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, RenderRun(&b, r))
	html := b.String()
	require.Contains(t, html, "2 of 2 steps had no usable verdicts and trained on nothing")
	require.Contains(t, html, `malformed 8 (plugin &#34;bad&#34;)`)
	require.Contains(t, html, "no usable verdicts (8 unusable)")
}
