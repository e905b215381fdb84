package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/rewind-rl/rewind/trainer/report"
)

// write writes compare.json, compare.md and report.html into dir.
func write(dir string, r *Result) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), []byte(Markdown(r)), 0o644); err != nil {
		return err
	}
	return report.WriteComparison(filepath.Join(dir, ReportFile), comparisonView(r))
}

// cell formats a spread as "mean ± std [min, max]".
func cell(s Spread, digits int) string {
	if s.N == 0 {
		return "-"
	}
	f := func(v Value) string { return fmt.Sprintf("%.*f", digits, float64(v)) }
	if s.N == 1 {
		return f(s.Mean)
	}
	return fmt.Sprintf("%s ± %s [%s, %s]", f(s.Mean), f(s.Std), f(s.Min), f(s.Max))
}

// tokensCell formats a token spread in thousands.
func tokensCell(s Spread) string {
	k := func(v Value) Value { return v / 1000 }
	return cell(Spread{Mean: k(s.Mean), Std: k(s.Std), Min: k(s.Min), Max: k(s.Max), N: s.N}, 1) + "k"
}

// ciCell formats a CI as "value [lo, hi]" ("-" when undefined, "inf"
// for an open end).
func ciCell(c CI, digits int) string {
	f := func(v Value) string {
		switch x := float64(v); {
		case math.IsInf(x, 1):
			return "inf"
		case math.IsNaN(x):
			return "-"
		}
		return fmt.Sprintf("%.*f", digits, float64(v))
	}
	if math.IsNaN(float64(c.Value)) {
		return "-"
	}
	if c.N <= 1 {
		return f(c.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", f(c.Value), f(c.Lo), f(c.Hi))
}

// tableHeader and tableRows are the comparison table, shared by the
// Markdown and the HTML report.
func tableHeader(r *Result) []string {
	return []string{"arm", "preset", "seeds",
		fmt.Sprintf("held-out greedy pass@1 (%d tasks), mean [95%% CI]", r.EvalTasks),
		"change over the warm start",
		fmt.Sprintf("sample accuracy, last %d steps", r.Smooth),
		"generated tokens (all phases)", "localize + parent tokens", "steps",
		"resets with a clean prefix [CI]", "resets at the first error [CI]", "wall s"}
}

func tableRows(r *Result) [][]string {
	var rows [][]string
	for _, a := range r.Arms {
		lp := make([]float64, len(a.Seeds))
		st := make([]float64, len(a.Seeds))
		for i, s := range a.Seeds {
			lp[i] = float64(s.TokensByPhase["localize"] + s.TokensByPhase["parent"])
			st[i] = float64(s.Steps)
		}
		change := "-"
		if d := float64(a.HeldOutCI.Value - r.WarmStartHeldOut); !math.IsNaN(d) {
			change = fmt.Sprintf("%+.3f", d)
		}
		rows = append(rows, []string{a.Name, a.Preset, fmt.Sprint(len(a.Seeds)),
			ciCell(a.HeldOutCI, 3), change, cell(a.FinalAccuracy, 3), tokensCell(a.Tokens), tokensCell(NewSpread(lp)),
			cell(NewSpread(st), 0), ciCell(a.LocPrecisionCI, 3), ciCell(a.LocRecallCI, 3), cell(a.WallSec, 0)})
	}
	return rows
}

// headlineHeader and headlineRows are the tokens-to-reach table.
func headlineHeader() []string {
	return []string{"arm", "baseline", "baseline's final held-out pass@1", "horizon (tokens)",
		"tokens to reach it", "ratio to the baseline's tokens [95% CI]", "resamples not reaching it"}
}

func headlineRows(r *Result) [][]string {
	var rows [][]string
	for _, h := range r.Headline {
		tok := "not reached"
		if x := float64(h.Tokens); !math.IsInf(x, 1) && !math.IsNaN(x) {
			tok = fmt.Sprintf("%.0fk", x/1000)
		}
		rows = append(rows, []string{h.Arm, h.Baseline, fmtValue(h.Target), fmt.Sprintf("%.0fk", h.Budget/1000),
			tok, ciCell(h.Ratio, 2), fmt.Sprintf("%.0f%%", 100*h.NotReached)})
	}
	return rows
}

// locHeader and locRows are the localizer table: each arm's reset
// points against the verifier's first error.
func locHeader() []string {
	return []string{"arm", "parents with a first error", "answered by the localizer",
		"precision: answers at the first error [CI]", "recall: resets at the first error [CI]",
		"clean-prefix share: resets at or before it [CI]"}
}

func locRows(r *Result) [][]string {
	var rows [][]string
	for _, a := range r.Arms {
		if a.LocParents == 0 {
			continue
		}
		rows = append(rows, []string{a.Name, fmt.Sprint(a.LocParents),
			fmt.Sprintf("%d (%.0f%%)", a.LocAnswered, 100*float64(a.LocAnswered)/float64(a.LocParents)),
			ciCell(a.LocExactPrecisionCI, 3), ciCell(a.LocRecallCI, 3), ciCell(a.LocPrecisionCI, 3)})
	}
	return rows
}

// resetHeader and resetRows are the reset-continuation table.
func resetHeader() []string {
	return []string{"arm", "right continuations, clean prefix [CI]", "n", "right continuations, erroneous prefix [CI]", "n"}
}

func resetRows(r *Result) [][]string {
	var rows [][]string
	for _, a := range r.Arms {
		if a.CleanN+a.ErroneousN == 0 {
			continue
		}
		rows = append(rows, []string{a.Name, ciCell(a.CleanCorrection, 3), fmt.Sprint(a.CleanN),
			ciCell(a.ErroneousCorrection, 3), fmt.Sprint(a.ErroneousN)})
	}
	return rows
}

func mdTable(b *strings.Builder, h []string, rows [][]string) {
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(h)) + "\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

// budgetLine says what every arm was given.
func budgetLine(r *Result) string {
	if r.TokenBudget > 0 {
		return fmt.Sprintf("Every run stopped once it had generated %d tokens (all phases; at most %d steps), seeds %v, %d trained trajectories per prompt in every arm.", r.TokenBudget, r.Steps, r.Seeds, r.TrainedPerPrompt)
	}
	return fmt.Sprintf("%d steps per run, seeds %v, %d trained trajectories per prompt in every arm.", r.Steps, r.Seeds, r.TrainedPerPrompt)
}

// Markdown is compare.md: the comparison table with how to read it.
func Markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Comparison on %s\n\n", r.Family)
	b.WriteString(budgetLine(r) + " ")
	fmt.Fprintf(&b, "Cells: mean ± sample std [min, max] over seeds, or mean [95%% bootstrap CI over seeds]. Warm start: held-out greedy pass@1 %s; its self-localizations of its own failures at or before the first error %.3f.\n\n",
		fmtValue(r.WarmStartHeldOut), r.WarmStart.LocPrecision)
	mdTable(&b, tableHeader(r), tableRows(r))
	if len(r.Headline) > 0 {
		fmt.Fprintf(&b, "\n## Generated tokens to reach %s's final held-out accuracy\n\n", Baseline)
		mdTable(&b, headlineHeader(), headlineRows(r))
		if t := r.Headline[0].Target; !(t > r.WarmStartCurve) {
			fmt.Fprintf(&b, "\n%s ended at %s on the curve tasks, not above the warm start's %s: every arm \"reaches\" it at once, and the ratios measure nothing.\n",
				Baseline, fmtValue(t), fmtValue(r.WarmStartCurve))
		}
	}
	if rows := locRows(r); len(rows) > 0 {
		b.WriteString("\n## Localizers against the verifier's first error\n\n")
		mdTable(&b, locHeader(), rows)
	}
	if rows := resetRows(r); len(rows) > 0 {
		b.WriteString("\n## Reset continuations inside RL\n\n")
		mdTable(&b, resetHeader(), rows)
	}
	b.WriteString("\n" + notes(r))
	return b.String()
}

func fmtValue(v Value) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(v))
}

func notes(r *Result) string {
	s := fmt.Sprintf(`Sample accuracy is the share of correct answers among the first %d fresh samples of every prompt, drawn before any procedure decides anything: an unbiased estimate of pass@1 at the sampling temperature, comparable across arms. Generated tokens count fresh samples, parents, localization calls and reset continuations. Localizers are scored against the verifier's first wrong step e, over every parent whose e was reported (GRPO has none), pooled over the runs: precision is the share of the localizer's own answers (fallbacks left out) with k = e, recall the share of all those parents reset at k = e, and the clean-prefix share the share reset at k <= e, whose kept prefix holds no wrong step (metrics.jsonl calls it loc precision). Intervals are 95%% percentile intervals of %d bootstrap resamples of the seeds.
`, report.UnbiasedFresh, bootstrapDraws)
	if r.EvalEvery > 0 {
		s += fmt.Sprintf(`
Held-out curves: greedy pass@1 on the first %d held-out tasks every %d steps and after the last (the warm start scores %s on them at 0 tokens), linear between evaluations. Tokens to reach: the first generated-token count at which an arm's seed-mean curve reaches the baseline's seed-mean value at the horizon (the fewest tokens any run of the two arms generated), divided by the horizon; resamples draw each arm's seeds independently, and a resample that never reaches the target counts as infinite.
`, r.CurveTasks, r.EvalEvery, fmtValue(r.WarmStartCurve))
	}
	return s
}

// comparisonView maps a result onto the HTML page.
func comparisonView(r *Result) report.Comparison {
	c := report.Comparison{
		Title: "Rewind comparison: " + r.Family,
		Lead: []string{
			"Directory: " + r.Dir,
			fmt.Sprintf("%d arms x %d seeds. %s Finished in %.0f s.", len(r.Arms), len(r.Seeds), budgetLine(r), r.WallSec),
			fmt.Sprintf("Warm start: held-out greedy pass@1 %s, its self-localizations of its own failures at or before the first error %.3f (sft.json).",
				fmtValue(r.WarmStartHeldOut), r.WarmStart.LocPrecision),
		},
		Notes:  []string{notes(r), fmt.Sprintf("Curves are %d-step trailing means per run, then the mean over seeds.", r.Smooth)},
		Tables: []report.Table{{Title: "Summary (mean ± std [min, max] or mean [95% CI] over seeds)", Header: tableHeader(r), Rows: tableRows(r)}},
		Band:   fmt.Sprintf("min..max over %d seeds", len(r.Seeds)),
	}
	if len(r.Headline) > 0 {
		c.Tables = append(c.Tables, report.Table{Title: "Generated tokens to reach " + Baseline + "'s final held-out accuracy", Header: headlineHeader(), Rows: headlineRows(r)})
	}
	if rows := locRows(r); len(rows) > 0 {
		c.Tables = append(c.Tables, report.Table{Title: "Localizers against the verifier's first error", Header: locHeader(), Rows: rows})
	}
	if rows := resetRows(r); len(rows) > 0 {
		c.Tables = append(c.Tables, report.Table{Title: "Reset continuations inside RL", Header: resetHeader(), Rows: rows})
	}
	ws := float64(r.WarmStartHeldOut)
	c.WarmStartHeldOut = &ws
	band := func(ss []Spread) report.Band {
		var b report.Band
		for _, s := range ss {
			b.Mean, b.Lo, b.Hi = append(b.Mean, float64(s.Mean)), append(b.Lo, float64(s.Min)), append(b.Hi, float64(s.Max))
		}
		return b
	}
	for _, a := range r.Arms {
		ca := report.ComparedArm{Name: a.Name, Accuracy: band(a.Curves.Accuracy), Reward: band(a.Curves.Reward),
			LocPrecision: band(a.Curves.LocPrecision), LocRecall: band(a.Curves.LocRecall),
			AccuracyByTokens: band(a.Curves.AccuracyByTokens), HeldOut: float64(a.HeldOut.Mean)}
		for _, s := range a.Curves.Steps {
			ca.Steps = append(ca.Steps, float64(s))
		}
		for _, t := range a.Curves.Tokens {
			ca.Tokens = append(ca.Tokens, float64(t))
		}
		ca.HeldOutTokens = a.HeldOutCurve.Tokens
		for i := range a.HeldOutCurve.Tokens {
			h := a.HeldOutCurve
			ca.HeldOutByTokens.Mean = append(ca.HeldOutByTokens.Mean, float64(h.Mean[i]))
			ca.HeldOutByTokens.Lo = append(ca.HeldOutByTokens.Lo, float64(h.Min[i]))
			ca.HeldOutByTokens.Hi = append(ca.HeldOutByTokens.Hi, float64(h.Max[i]))
		}
		c.Arms = append(c.Arms, ca)
	}
	return c
}
