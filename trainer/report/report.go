// Package report renders Rewind's HTML reports: one run directory
// (WriteRun, also called by the train command at the end of a run) and a
// comparison of several runs (WriteComparison, used by `rewind compare`).
//
// A report is one self-contained HTML file: inline CSS and inline SVG
// charts drawn in Go, no scripts, no fonts or images from the network, so
// it opens from a file:// URL on a machine with no network access. Charts
// show accuracy and reward against optimiser steps and against all
// generated tokens (fresh, parent, localization and reset phases), the
// reset position histogram, the localizer's precision and recall, loss
// and gradient norm; tables show verdict statuses, plugin calls, the
// held-out evaluation, the summary and the resolved config.
package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/report/internal/svg"
)

// Series colours. The headless-browser test finds plotted pixels by them.
const (
	colorSample    = "#1f77b4" // unbiased sample accuracy, reward
	colorFresh     = "#7f7f7f" // the trainer's fresh accuracy
	colorReset     = "#ff7f0e" // reset group
	colorBase      = "#2ca02c" // base group
	colorLocalize  = "#9467bd" // localization tokens, precision
	colorRecall    = "#d62728"
	colorHistogram = "#17becf"
	colorLoss      = "#8c564b"
)

// Palette colours the arms of a comparison, in order.
var Palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"num": func(v float64) string { return svg.Format(v) },
	"pct": pct,
}).Parse(pageTemplate))

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

// Table is a table of preformatted cells.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// view is what page.html.tmpl renders.
type view struct {
	Title   string
	Lead    []string // header lines
	Notes   []string
	Charts  []template.HTML
	Tables  []Table
	Blocks  []block // preformatted text (config, summary)
	Warning string
}

type block struct{ Title, Text string }

// WriteRun reads the run directory dir and writes dir/report.html
// atomically (a temporary file renamed over the old report).
func WriteRun(dir string) error {
	r, err := ReadRun(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := RenderRun(&b, r); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ReportFile), b.Bytes())
}

// RenderRun writes the HTML report of r to w.
func RenderRun(w io.Writer, r *Run) error {
	v := view{Title: "Rewind run " + filepath.Base(filepath.Clean(r.Dir))}
	v.Lead = append(v.Lead, "Run directory: "+r.Dir)
	v.Lead = append(v.Lead, fmt.Sprintf("Preset %s, algorithm %s, localizer %s, seed %d; %d steps logged, %s tokens generated (all phases).",
		orDash(r.Preset), orDash(r.Algo), orDash(r.Localizer), r.Seed, len(r.Steps), svg.Format(float64(lastCum(r.Steps)))))
	if ws, ok := r.Summary["wall_sec"].(float64); ok {
		v.Lead = append(v.Lead, fmt.Sprintf("Finished in %.1f s (summary.json).", ws))
	} else {
		v.Warning = "No summary.json: the run is unfinished or was killed; the report shows the steps logged so far."
	}
	if n, first := noUsableSteps(r.Steps); n > 0 {
		w := fmt.Sprintf("%d of %d steps had no usable verdicts and trained on nothing (first: step %d: %s).", n, len(r.Steps), first.Step, first.NoUsable)
		v.Warning = strings.TrimSpace(v.Warning + " " + w)
	}
	v.Notes = append(v.Notes,
		fmt.Sprintf("Sample accuracy is the fraction of correct answers among the first %d fresh samples of every prompt, which every procedure draws before deciding anything: an unbiased estimate of the policy's pass@1 at the sampling temperature, comparable across GRPO, RRPO and SRPO. The trainer's fresh accuracy (grey, dashed) stops at each prompt's stop point and is biased upward when failures are rare.", UnbiasedFresh),
		"Generated tokens count every phase: fresh samples, parents, localization calls and reset continuations (copied prefixes excluded).")
	if !r.HasRollouts {
		v.Notes = append(v.Notes, "rollouts.jsonl is empty or absent (run.log_rollouts off): sample accuracy and the reset histograms are unavailable.")
	}
	v.Charts = runCharts(r)
	v.Tables = runTables(r)
	if r.Summary != nil {
		v.Blocks = append(v.Blocks, block{"summary.json", indentJSON(r.Summary)})
	}
	if r.Config != "" {
		v.Blocks = append(v.Blocks, block{"config.yaml (resolved)", r.Config})
	}
	return page.Execute(w, v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lastCum(steps []Step) int {
	if len(steps) == 0 {
		return 0
	}
	return steps[len(steps)-1].CumTokens
}

func series(name, color string, steps []Step, x func(Step) float64, y func(Step) float64) svg.Series {
	s := svg.Series{Name: name, Color: color}
	for _, st := range steps {
		s.Points = append(s.Points, svg.Point{X: x(st), Y: y(st)})
	}
	return s
}

func dashed(s svg.Series) svg.Series {
	s.Dashed = true
	return s
}

func byStep(s Step) float64   { return float64(s.Step) }
func byTokens(s Step) float64 { return float64(s.CumTokens) }

func group(kind string, m func(Step) map[string]float64) func(Step) float64 {
	return func(s Step) float64 {
		if v, ok := m(s)[kind]; ok {
			return v
		}
		return nan
	}
}

// hasAny reports whether f is finite on some step.
func hasAny(steps []Step, f func(Step) float64) bool {
	for _, s := range steps {
		if v := f(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

func runCharts(r *Run) []template.HTML {
	st := r.Steps
	acc := func(x func(Step) float64) []svg.Series {
		// The trainer's fresh accuracy first, so that the unbiased one is
		// drawn over it where they agree.
		f := series("trainer fresh accuracy", colorFresh, st, x, func(s Step) float64 { return s.FreshAccuracy })
		f.Dashed = true
		out := []svg.Series{f, series("sample accuracy (unbiased)", colorSample, st, x, func(s Step) float64 { return s.SampleAccuracy })}
		if hasAny(st, group("reset", func(s Step) map[string]float64 { return s.GroupAccuracy })) {
			out = append(out, series("reset group (correction rate)", colorReset, st, x, group("reset", func(s Step) map[string]float64 { return s.GroupAccuracy })))
		}
		return out
	}
	rew := func(x func(Step) float64) []svg.Series {
		out := []svg.Series{series("fresh reward", colorSample, st, x, func(s Step) float64 { return s.FreshReward })}
		for _, k := range []struct{ kind, color string }{{"base", colorBase}, {"reset", colorReset}} {
			f := group(k.kind, func(s Step) map[string]float64 { return s.GroupReward })
			if hasAny(st, f) {
				out = append(out, series(k.kind+" group reward", k.color, st, x, f))
			}
		}
		return out
	}
	charts := []fmt.Stringer{
		lineChart{svg.LineChart{ID: "chart-accuracy-steps", Title: "Accuracy by step", XLabel: "step", YLabel: "accuracy",
			Series: acc(byStep), YZero: true, YMax: 1}},
		lineChart{svg.LineChart{ID: "chart-accuracy-tokens", Title: "Accuracy by generated tokens (all phases)", XLabel: "generated tokens", YLabel: "accuracy",
			Series: acc(byTokens), YZero: true, YMax: 1}},
		lineChart{svg.LineChart{ID: "chart-reward-steps", Title: "Reward by step", XLabel: "step", YLabel: "mean reward", Series: rew(byStep)}},
		lineChart{svg.LineChart{ID: "chart-reward-tokens", Title: "Reward by generated tokens", XLabel: "generated tokens", YLabel: "mean reward", Series: rew(byTokens)}},
		lineChart{svg.LineChart{ID: "chart-tokens", Title: "Generated tokens per step by phase", XLabel: "step", YLabel: "tokens", Series: []svg.Series{
			series("fresh", colorSample, st, byStep, func(s Step) float64 { return float64(s.TokensFresh) }),
			series("parent", colorRecall, st, byStep, func(s Step) float64 { return float64(s.TokensParent) }),
			series("localization", colorLocalize, st, byStep, func(s Step) float64 { return float64(s.TokensLocalize) }),
			series("reset", colorReset, st, byStep, func(s Step) float64 { return float64(s.TokensReset) }),
		}}},
	}
	if r.Algo != "grpo" {
		ks, rel := resetHistograms(r.Resets)
		charts = append(charts,
			histogram{svg.Histogram{ID: "chart-reset-step", Title: "Reset step k (all parents)", XLabel: "k", YLabel: "parents", Color: colorHistogram, Bars: ks}},
			histogram{svg.Histogram{ID: "chart-reset-relpos", Title: "Relative reset position k/n", XLabel: "k/n", YLabel: "parents", Color: colorHistogram, Bars: rel}},
			lineChart{svg.LineChart{ID: "chart-localizer", Title: "Localizer vs the verifier's first error", XLabel: "step", YLabel: "fraction", YFixed: true, YMax: 1, Series: []svg.Series{
				series("precision (k <= first error)", colorLocalize, st, byStep, func(s Step) float64 { return s.LocPrecision }),
				dashed(series("recall (k = first error)", colorRecall, st, byStep, func(s Step) float64 { return s.LocRecall })),
				series("no-failure fallback rate", colorFresh, st, byStep, func(s Step) float64 { return s.NoFailureRate }),
			}}},
		)
	}
	charts = append(charts,
		lineChart{svg.LineChart{ID: "chart-loss", Title: "Loss", XLabel: "step", YLabel: "loss", Series: []svg.Series{
			series("loss", colorLoss, st, byStep, func(s Step) float64 { return s.Loss })}}},
		lineChart{svg.LineChart{ID: "chart-gradnorm", Title: "Gradient norm (before clipping)", XLabel: "step", YLabel: "grad norm", Series: []svg.Series{
			series("grad norm", colorLoss, st, byStep, func(s Step) float64 { return s.GradNorm })}}},
	)
	out := make([]template.HTML, len(charts))
	for i, c := range charts {
		out[i] = template.HTML(c.String()) // generated by package svg, which escapes all text
	}
	return out
}

type lineChart struct{ svg.LineChart }

func (c lineChart) String() string { return c.SVG() }

type histogram struct{ svg.Histogram }

func (h histogram) String() string { return h.SVG() }

// resetHistograms bins reset points by k (1..max k) and by k/n in ten
// right-closed bins (0, 0.1], ..., (0.9, 1], each labelled by its upper
// edge (k >= 1, so k/n is never 0).
func resetHistograms(resets []Reset) (ks, rel []svg.Bar) {
	if len(resets) == 0 {
		return nil, nil
	}
	maxK := 0
	for _, r := range resets {
		maxK = max(maxK, r.K)
	}
	countK := make([]float64, maxK+1)
	bins := make([]float64, 10)
	for _, r := range resets {
		if r.K >= 0 {
			countK[r.K]++
		}
		if p := r.RelPos(); !math.IsNaN(p) {
			bins[max(0, min(int(math.Ceil(p*10-1e-9))-1, 9))]++
		}
	}
	for k := 1; k <= maxK; k++ {
		ks = append(ks, svg.Bar{Label: strconv.Itoa(k), Value: countK[k]})
	}
	for i, c := range bins {
		rel = append(rel, svg.Bar{Label: fmt.Sprintf("%.1f", float64(i+1)/10), Value: c})
	}
	return ks, rel
}

func runTables(r *Run) []Table {
	var ts []Table
	if r.Eval != nil {
		t := Table{Title: "Held-out evaluation of the final policy (eval.json)", Header: []string{"measure", "value"}}
		for _, k := range []string{"dataset", "tasks", "pass_at_1_greedy", "greedy_unusable", "samples", "pass_at_k", "wall_sec"} {
			if v, ok := r.Eval[k]; ok {
				t.Rows = append(t.Rows, []string{k, compactJSON(v)})
			}
		}
		ts = append(ts, t)
	}
	st := Table{Title: "Verdict statuses (all steps)", Header: []string{"status", "trajectories"}}
	for _, k := range slices.Sorted(maps.Keys(r.Statuses)) {
		st.Rows = append(st.Rows, []string{k, strconv.Itoa(r.Statuses[k])})
	}
	ts = append(ts, st)
	pt := Table{Title: "Plugin calls by status (all steps)", Header: []string{"plugin", "call:status", "count"}}
	for _, p := range slices.Sorted(maps.Keys(r.Plugins)) {
		for _, k := range slices.Sorted(maps.Keys(r.Plugins[p])) {
			pt.Rows = append(pt.Rows, []string{p, k, strconv.Itoa(r.Plugins[p][k])})
		}
	}
	ts = append(ts, pt)
	if len(r.Steps) > 0 {
		last := r.Steps[len(r.Steps)-1]
		lt := Table{Title: fmt.Sprintf("Last step (%d)", last.Step), Header: []string{"measure", "value"}, Rows: [][]string{
			{"verdicts", verdictsCell(last)},
			{"sample accuracy (unbiased)", pct(last.SampleAccuracy)},
			{"trainer fresh accuracy", pct(last.FreshAccuracy)},
			{"correction rate (reset group)", pct(last.CorrectionRate)},
			{"localizer precision / recall", pct(last.LocPrecision) + " / " + pct(last.LocRecall)},
			{"clean / erroneous-prefix correction", pct(last.CleanCorrection) + " / " + pct(last.ErroneousCorrection)},
			{"parse failures", strconv.Itoa(last.ParseFailures)},
			{"loss / grad norm / lr", svg.Format(last.Loss) + " / " + svg.Format(last.GradNorm) + " / " + strconv.FormatFloat(last.LR, 'g', 3, 64)},
		}}
		ts = append(ts, lt)
	}
	return ts
}

// noUsableSteps counts the steps that had no usable verdict and returns
// the first.
func noUsableSteps(steps []Step) (n int, first Step) {
	for _, s := range steps {
		if s.NoUsable != "" || (s.UsableVerdicts == 0 && s.UnusableVerdicts > 0) {
			if n == 0 {
				first = s
				if first.NoUsable == "" {
					first.NoUsable = "no usable verdicts"
				}
			}
			n++
		}
	}
	return n, first
}

// verdictsCell is the last-step table's verdicts row: never a reward of 0
// for a step that had nothing to reward.
func verdictsCell(s Step) string {
	switch {
	case s.UsableVerdicts < 0:
		return "-"
	case s.UsableVerdicts == 0 && s.UnusableVerdicts > 0:
		return fmt.Sprintf("no usable verdicts (%d unusable)", s.UnusableVerdicts)
	}
	return fmt.Sprintf("%d usable, %d unusable", s.UsableVerdicts, s.UnusableVerdicts)
}

func compactJSON(v any) string {
	if f, ok := v.(float64); ok {
		return svg.Format(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
