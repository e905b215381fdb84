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

// tableHeader and tableRows are the comparison table, shared by the
// Markdown and the HTML report.
func tableHeader(r *Result) []string {
	return []string{"arm", "preset", "seeds",
		fmt.Sprintf("held-out greedy pass@1 (%d tasks)", r.EvalTasks),
		fmt.Sprintf("sample accuracy, last %d steps", r.Smooth),
		"generated tokens (all phases)", "localize + parent tokens",
		"localizer precision", "localizer recall", "wall s"}
}

func tableRows(r *Result) [][]string {
	var rows [][]string
	for _, a := range r.Arms {
		lp := make([]float64, len(a.Seeds))
		for i, s := range a.Seeds {
			lp[i] = float64(s.TokensByPhase["localize"] + s.TokensByPhase["parent"])
		}
		rows = append(rows, []string{a.Name, a.Preset, fmt.Sprint(len(a.Seeds)),
			cell(a.HeldOut, 3), cell(a.FinalAccuracy, 3), tokensCell(a.Tokens), tokensCell(NewSpread(lp)),
			cell(a.LocPrecision, 3), cell(a.LocRecall, 3), cell(a.WallSec, 0)})
	}
	return rows
}

// Markdown is compare.md: the comparison table with how to read it.
func Markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Comparison on %s\n\n", r.Family)
	fmt.Fprintf(&b, "%d steps per run, seeds %v, %d trained trajectories per prompt in every arm. ", r.Steps, r.Seeds, r.TrainedPerPrompt)
	fmt.Fprintf(&b, "Cells: mean ± sample std [min, max] over seeds. Warm start: held-out greedy pass@1 %s; localization precision on its own failures %.3f.\n\n",
		fmtValue(r.WarmStartHeldOut), r.WarmStart.LocPrecision)
	h := tableHeader(r)
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(h)) + "\n")
	for _, row := range tableRows(r) {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
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
	return fmt.Sprintf(`Sample accuracy is the share of correct answers among the first %d fresh samples of every prompt, drawn before any procedure decides anything: an unbiased estimate of pass@1 at the sampling temperature, comparable across arms. Generated tokens count fresh samples, parents, localization calls and reset continuations. Localizer precision is the share of resets at or before the verifier's first wrong step, recall the share exactly at it, over all parents whose first error was reported (GRPO has none).
`, report.UnbiasedFresh)
}

// comparisonView maps a result onto the HTML page.
func comparisonView(r *Result) report.Comparison {
	c := report.Comparison{
		Title: "Rewind comparison: " + r.Family,
		Lead: []string{
			"Directory: " + r.Dir,
			fmt.Sprintf("%d arms x %d seeds, %d steps each, %d trained trajectories per prompt in every arm; finished in %.0f s.",
				len(r.Arms), len(r.Seeds), r.Steps, r.TrainedPerPrompt, r.WallSec),
			fmt.Sprintf("Warm start: held-out greedy pass@1 %s, localization precision on its own failures %.3f (sft.json).",
				fmtValue(r.WarmStartHeldOut), r.WarmStart.LocPrecision),
		},
		Notes:  []string{notes(r), fmt.Sprintf("Curves are %d-step trailing means per run, then the mean over seeds.", r.Smooth)},
		Tables: []report.Table{{Title: "Summary (mean ± std [min, max] over seeds)", Header: tableHeader(r), Rows: tableRows(r)}},
		Band:   fmt.Sprintf("min..max over %d seeds", len(r.Seeds)),
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
		c.Arms = append(c.Arms, ca)
	}
	return c
}
