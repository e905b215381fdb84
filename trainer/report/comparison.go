package report

import (
	"bytes"
	"html/template"
	"math"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/report/internal/svg"
)

// Comparison is the page of `rewind compare`: curves of several arms
// (configs), each aggregated over seeds, and preformatted tables. Package
// package experiment computes it; this package only draws it.
type Comparison struct {
	Title  string
	Lead   []string
	Notes  []string
	Arms   []ComparedArm
	Tables []Table
	// Band names what the shaded bands show (e.g. "min..max over 3 seeds").
	Band string
	// WarmStartHeldOut, when set and not NaN, is the warm start's held-out
	// greedy pass@1, drawn as the first bar of the held-out chart for
	// reference.
	WarmStartHeldOut *float64
}

// ComparedArm is one arm's curves. Step curves have one entry per step of
// Steps; AccuracyByTokens has one per entry of Tokens (a grid of
// cumulative generated tokens). NaN entries leave gaps.
type ComparedArm struct {
	Name             string
	Steps            []float64
	Accuracy         Band // unbiased sample accuracy
	Reward           Band
	LocPrecision     Band
	LocRecall        Band
	Tokens           []float64
	AccuracyByTokens Band
	// HeldOutTokens is a grid of generated tokens starting at 0 (the warm
	// start) and HeldOutByTokens the held-out greedy pass@1 of the
	// evaluations made during the runs (run.eval_every), interpolated
	// onto it; both empty when the runs did not evaluate.
	HeldOutTokens   []float64
	HeldOutByTokens Band
	// HeldOut is the mean held-out greedy pass@1 over seeds (NaN when
	// not evaluated).
	HeldOut float64
}

// Band is a mean curve with a spread around it.
type Band struct{ Mean, Lo, Hi []float64 }

// WriteComparison writes the comparison page to path atomically.
func WriteComparison(path string, c Comparison) error {
	var b bytes.Buffer
	if err := renderComparison(&b, c); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b.Bytes())
}

func renderComparison(b *bytes.Buffer, c Comparison) error {
	v := view{Title: c.Title, Lead: c.Lead, Notes: c.Notes, Tables: c.Tables}
	arms := func(x func(ComparedArm) []float64, y func(ComparedArm) Band) []svg.Series {
		var out []svg.Series
		for i, a := range c.Arms {
			xs, band := x(a), y(a)
			s := svg.Series{Name: a.Name, Color: Palette[i%len(Palette)], Lo: band.Lo, Hi: band.Hi}
			for j := range band.Mean {
				if j < len(xs) {
					s.Points = append(s.Points, svg.Point{X: xs[j], Y: band.Mean[j]})
				}
			}
			if len(band.Lo) != len(s.Points) || len(band.Hi) != len(s.Points) {
				s.Lo, s.Hi = nil, nil
			}
			out = append(out, s)
		}
		return out
	}
	steps := func(a ComparedArm) []float64 { return a.Steps }
	tokens := func(a ComparedArm) []float64 { return a.Tokens }
	suffix := ""
	if c.Band != "" {
		suffix = " (band: " + c.Band + ")"
	}
	charts := []svg.LineChart{
		{ID: "chart-heldout-tokens", Title: "Held-out greedy pass@1 by generated tokens, all phases" + suffix, XLabel: "generated tokens", YLabel: "pass@1", YZero: true, YMax: 1,
			Series: arms(func(a ComparedArm) []float64 { return a.HeldOutTokens }, func(a ComparedArm) Band { return a.HeldOutByTokens })},
		{ID: "chart-accuracy-steps", Title: "Sample accuracy by step" + suffix, XLabel: "step", YLabel: "accuracy", YZero: true, YMax: 1,
			Series: arms(steps, func(a ComparedArm) Band { return a.Accuracy })},
		{ID: "chart-accuracy-tokens", Title: "Sample accuracy by generated tokens, all phases", XLabel: "generated tokens", YLabel: "accuracy", YZero: true, YMax: 1,
			Series: arms(tokens, func(a ComparedArm) Band { return a.AccuracyByTokens })},
		{ID: "chart-reward-steps", Title: "Fresh reward by step", XLabel: "step", YLabel: "mean reward",
			Series: arms(steps, func(a ComparedArm) Band { return a.Reward })},
		{ID: "chart-loc-precision", Title: "Localizer precision (k <= first error)", XLabel: "step", YLabel: "precision", YFixed: true, YMax: 1,
			Series: arms(steps, func(a ComparedArm) Band { return a.LocPrecision })},
		{ID: "chart-loc-recall", Title: "Localizer recall (k = first error)", XLabel: "step", YLabel: "recall", YFixed: true, YMax: 1,
			Series: arms(steps, func(a ComparedArm) Band { return a.LocRecall })},
	}
	for _, ch := range charts {
		v.Charts = append(v.Charts, template.HTML(ch.SVG())) // package svg escapes all text
	}
	h := svg.Histogram{ID: "chart-heldout", Title: "Held-out greedy pass@1 (mean over seeds)", XLabel: "arm", YLabel: "pass@1", Color: colorHistogram}
	if w := c.WarmStartHeldOut; w != nil && !math.IsNaN(*w) {
		h.Bars = append(h.Bars, svg.Bar{Label: "warm start", Value: *w})
	}
	for _, a := range c.Arms {
		h.Bars = append(h.Bars, svg.Bar{Label: a.Name, Value: a.HeldOut})
	}
	v.Charts = append(v.Charts, template.HTML(h.SVG()))
	return page.Execute(b, v)
}
