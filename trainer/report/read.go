package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

var nan = math.NaN()

func yamlUnmarshal(b []byte, v any) error { return yaml.Unmarshal(b, v) }

// Files a report reads from a run directory (written by trainer/run, and
// eval.json by `rewind demo` and `rewind compare`).
const (
	configFile   = "config.yaml"
	metricsFile  = "metrics.jsonl"
	rolloutsFile = "rollouts.jsonl"
	summaryFile  = "summary.json"
	// EvalFile is the held-out evaluation of a run's final policy (the
	// JSON of run.EvalResult), shown in the report when present.
	EvalFile = "eval.json"
	// ReportFile is the report WriteRun writes into a run directory.
	ReportFile = "report.html"
)

// UnbiasedFresh is how many fresh samples per prompt the unbiased
// sample accuracy counts: the first fresh round of trainer/rollout always
// samples at least this many (5 for every reset layout, the group size
// for GRPO), whatever the procedure later decides, so their mean is an
// unbiased estimate of the policy's pass@1 at the sampling temperature.
// The trainer's own fresh accuracy stops at each prompt's stop point
// (after the first failure), which biases it when failures are rare.
const UnbiasedFresh = 5

// Run is what a report shows of one run directory. Missing files and
// keys leave zero values and NaN curves: a report of a run still in
// progress, or with rollouts logging off, shows what there is.
type Run struct {
	Dir string
	// Config is config.yaml as written; Preset, Algo, Localizer and Seed
	// are read from it.
	Config    string
	Preset    string
	Algo      string
	Localizer string
	Seed      uint64
	// Summary is summary.json (nil while the run is unfinished).
	Summary map[string]any
	// Eval is eval.json (nil when absent).
	Eval map[string]any
	// Steps has one entry per metrics.jsonl line, in order.
	Steps []Step
	// Resets are the reset points of every parent in rollouts.jsonl.
	Resets []Reset
	// HasRollouts says rollouts.jsonl had lines; without them the reset
	// histogram and the unbiased sample accuracy are unavailable.
	HasRollouts bool
	// Statuses sums the verdict statuses over all steps.
	Statuses map[string]int
	// Plugins sums the per-step plugin call counters ("verify:ok", ...).
	Plugins map[string]map[string]int
}

// Step is one metrics.jsonl line, flattened. Ratios that the line does
// not report are NaN.
type Step struct {
	Step int
	// UsableVerdicts and UnusableVerdicts count the step's graded
	// trajectories (-1 in logs written before they were counted); NoUsable
	// is the step's warning when none was usable: it trained on nothing.
	UsableVerdicts, UnusableVerdicts int
	NoUsable                         string
	// Tokens generated in this step by phase; TokensTotal is their sum,
	// CumTokens the running total up to and including this step.
	TokensFresh, TokensParent, TokensLocalize, TokensReset int
	TokensTotal, CumTokens                                 int
	// FreshAccuracy and FreshReward are the trainer's fresh-trajectory
	// means (up to each prompt's stop point).
	FreshAccuracy, FreshReward float64
	// SampleAccuracy is the mean correctness of the first UnbiasedFresh
	// fresh samples of every prompt (from rollouts.jsonl); SampleN counts
	// them.
	SampleAccuracy float64
	SampleN        int
	// Group accuracies and rewards by kind (base, reset, grpo).
	GroupAccuracy map[string]float64
	GroupReward   map[string]float64
	// Update statistics (NaN when the step trained nothing).
	Loss, GradNorm, LR, ClipFrac float64
	// Reset statistics.
	Resets         int
	ResetStep      float64
	ResetRelPos    float64
	NoFailureRate  float64
	ParseFailures  int
	CorrectionRate float64
	// Localizer precision and recall against the verifier's first errors
	// (NaN when no parent had one); LocEvaluated counts those parents.
	LocPrecision, LocRecall float64
	LocEvaluated            int
	CleanCorrection         float64
	ErroneousCorrection     float64
	// CleanN and ErroneousN count the usable reset trajectories behind
	// CleanCorrection and ErroneousCorrection.
	CleanN, ErroneousN int
	// EvalPassAt1 is the held-out greedy pass@1 measured after this step
	// (run.eval_every; NaN on other steps) on EvalTasks tasks, EvalCorrect
	// of them right.
	EvalPassAt1            float64
	EvalTasks, EvalCorrect int
	// KL is the mean k3 estimate of the KL to the starting policy over
	// the trained tokens (algo.kl_coef > 0; NaN otherwise).
	KL float64
	// StepSec is the step's wall-clock time (NaN when absent).
	StepSec float64
}

// Reset is one parent's reset point: the chosen step k of n steps, and
// the verifier's first wrong step (0 when none was reported).
type Reset struct {
	Step, K, N, FirstError int
	// Fallback is the rule that chose K when the localizer did not
	// (localize.Result.Fallback: "parse", "no-error", "error", ...); empty
	// when the localizer's own answer was used.
	Fallback string
}

// RelPos is k/n (NaN for a parent with no steps).
func (r Reset) RelPos() float64 {
	if r.N == 0 {
		return nan
	}
	return float64(r.K) / float64(r.N)
}

// ReadRun reads a run directory. It needs metrics.jsonl; every other file
// is optional. A torn last line (a run killed while writing) is ignored.
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir, Statuses: map[string]int{}, Plugins: map[string]map[string]int{}}
	if b, err := os.ReadFile(filepath.Join(dir, configFile)); err == nil {
		r.Config = string(b)
		r.readConfig(b)
	}
	if err := readJSON(filepath.Join(dir, summaryFile), &r.Summary); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, EvalFile), &r.Eval); err != nil {
		return nil, err
	}
	mpath := filepath.Join(dir, metricsFile)
	if _, err := os.Stat(mpath); err != nil {
		return nil, fmt.Errorf("report: %s is not a run directory: %w", dir, err)
	}
	cum := 0
	err := eachLine(mpath, func(line int, raw []byte) error {
		var m metricsLine
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%s:%d: %w", mpath, line, err)
		}
		s := m.step()
		cum += s.TokensTotal
		s.CumTokens = cum
		r.Steps = append(r.Steps, s)
		for k, v := range m.Rollout.Statuses {
			r.Statuses[k] += v
		}
		for p, counts := range m.Plugins {
			if r.Plugins[p] == nil {
				r.Plugins[p] = map[string]int{}
			}
			for k, v := range counts {
				r.Plugins[p][k] += v
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := r.readRollouts(filepath.Join(dir, rolloutsFile)); err != nil {
		return nil, err
	}
	return r, nil
}

// metricsLine decodes the keys of a metrics.jsonl line a report uses;
// pointers tell absent keys from zeros.
type metricsLine struct {
	Step             int    `json:"step"`
	UsableVerdicts   *int   `json:"usable_verdicts"`
	UnusableVerdicts *int   `json:"unusable_verdicts"`
	Warning          string `json:"warning"`
	Rollout          struct {
		Fresh  groupStats            `json:"fresh"`
		Groups map[string]groupStats `json:"groups"`
		Tokens struct {
			Fresh    int `json:"fresh"`
			Parent   int `json:"parent"`
			Localize int `json:"localize"`
			Reset    int `json:"reset"`
		} `json:"tokens"`
		Statuses       map[string]int `json:"statuses"`
		Resets         int            `json:"resets"`
		ResetStep      *float64       `json:"reset_step"`
		ResetRelPos    *float64       `json:"reset_rel_pos"`
		NoFailureRate  *float64       `json:"no_failure_rate"`
		ParseFailures  int            `json:"parse_failures"`
		CorrectionRate *float64       `json:"correction_rate"`
		Localizer      *struct {
			Evaluated           int     `json:"evaluated"`
			Precision           float64 `json:"precision"`
			Recall              float64 `json:"recall"`
			CleanCorrection     float64 `json:"clean_correction"`
			CleanN              int     `json:"clean_n"`
			ErroneousCorrection float64 `json:"erroneous_correction"`
			ErroneousN          int     `json:"erroneous_n"`
		} `json:"localizer"`
	} `json:"rollout"`
	Update *struct {
		Loss     float64 `json:"loss"`
		GradNorm float64 `json:"grad_norm"`
		LR       float64 `json:"lr"`
		ClipFrac float64 `json:"clip_frac"`
	} `json:"update"`
	Plugins map[string]map[string]int `json:"plugins"`
	Eval    *struct {
		Tasks    int     `json:"tasks"`
		Correct  int     `json:"correct"`
		Unusable int     `json:"unusable"`
		PassAt1  float64 `json:"pass_at_1"`
	} `json:"eval"`
	KL *struct {
		Mean float64 `json:"mean"`
	} `json:"kl"`
	Time map[string]float64 `json:"time"`
}

type groupStats struct {
	Trajectories int     `json:"trajectories"`
	Reward       float64 `json:"reward"`
	Accuracy     float64 `json:"accuracy"`
}

func orNaN(p *float64) float64 {
	if p == nil {
		return nan
	}
	return *p
}

func (m *metricsLine) step() Step {
	ro := &m.Rollout
	s := Step{
		Step:        m.Step,
		TokensFresh: ro.Tokens.Fresh, TokensParent: ro.Tokens.Parent,
		TokensLocalize: ro.Tokens.Localize, TokensReset: ro.Tokens.Reset,
		FreshAccuracy: nan, FreshReward: nan, SampleAccuracy: nan,
		GroupAccuracy: map[string]float64{}, GroupReward: map[string]float64{},
		Loss: nan, GradNorm: nan, LR: nan, ClipFrac: nan,
		Resets: ro.Resets, ResetStep: orNaN(ro.ResetStep), ResetRelPos: orNaN(ro.ResetRelPos),
		NoFailureRate: orNaN(ro.NoFailureRate), ParseFailures: ro.ParseFailures,
		CorrectionRate: orNaN(ro.CorrectionRate),
		LocPrecision:   nan, LocRecall: nan, CleanCorrection: nan, ErroneousCorrection: nan,
		EvalPassAt1: nan, KL: nan, StepSec: nan,
	}
	s.TokensTotal = s.TokensFresh + s.TokensParent + s.TokensLocalize + s.TokensReset
	s.UsableVerdicts, s.UnusableVerdicts, s.NoUsable = -1, -1, m.Warning
	if m.UsableVerdicts != nil && m.UnusableVerdicts != nil {
		s.UsableVerdicts, s.UnusableVerdicts = *m.UsableVerdicts, *m.UnusableVerdicts
	}
	if ro.Fresh.Trajectories > 0 {
		s.FreshAccuracy, s.FreshReward = ro.Fresh.Accuracy, ro.Fresh.Reward
	}
	for k, g := range ro.Groups {
		if g.Trajectories > 0 {
			s.GroupAccuracy[k], s.GroupReward[k] = g.Accuracy, g.Reward
		}
	}
	if ro.Resets == 0 {
		// Means over no parents are reported as 0; they are undefined.
		s.ResetStep, s.ResetRelPos, s.CorrectionRate = nan, nan, nan
	}
	if l := ro.Localizer; l != nil && l.Evaluated > 0 {
		s.LocPrecision, s.LocRecall, s.LocEvaluated = l.Precision, l.Recall, l.Evaluated
		if l.CleanN > 0 {
			s.CleanCorrection = l.CleanCorrection
		}
		if l.ErroneousN > 0 {
			s.ErroneousCorrection = l.ErroneousCorrection
		}
		s.CleanN, s.ErroneousN = l.CleanN, l.ErroneousN
	}
	if e := m.Eval; e != nil && e.Tasks > e.Unusable {
		s.EvalPassAt1, s.EvalTasks, s.EvalCorrect = e.PassAt1, e.Tasks, e.Correct
	}
	if m.KL != nil {
		s.KL = m.KL.Mean
	}
	if u := m.Update; u != nil {
		s.Loss, s.GradNorm, s.LR, s.ClipFrac = u.Loss, u.GradNorm, u.LR, u.ClipFrac
	}
	if v, ok := m.Time["step_sec"]; ok {
		s.StepSec = v
	}
	return s
}

// rolloutLine holds the keys of a rollouts.jsonl line a report uses.
type rolloutLine struct {
	Step    int    `json:"step"`
	Prompt  int    `json:"prompt"`
	Traj    int    `json:"traj"`
	Origin  string `json:"origin"`
	Role    string `json:"role"`
	Status  string `json:"status"`
	Correct bool   `json:"correct"`
	Reset   *struct {
		Steps        int  `json:"steps"`
		Step         int  `json:"step"`
		FirstError   *int `json:"first_error"`
		Localization struct {
			Fallback string `json:"fallback"`
		} `json:"localization"`
	} `json:"reset"`
}

// usable statuses: trainer/run never scores other verdicts.
func usable(status string) bool { return status == "ok" || status == "" }

// readRollouts fills the reset points and the unbiased sample accuracy.
// Fresh trajectories come first in each prompt's list, in sampling order,
// so the first UnbiasedFresh fresh ones are those with traj < UnbiasedFresh.
func (r *Run) readRollouts(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	type acc struct{ ok, n int }
	byStep := map[int]*acc{}
	err := eachLine(path, func(line int, raw []byte) error {
		var l rolloutLine
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		r.HasRollouts = true
		if l.Reset != nil {
			fe := 0
			if l.Reset.FirstError != nil {
				fe = *l.Reset.FirstError
			}
			r.Resets = append(r.Resets, Reset{Step: l.Step, K: l.Reset.Step, N: l.Reset.Steps, FirstError: fe, Fallback: l.Reset.Localization.Fallback})
		}
		if l.Origin == "fresh" && l.Traj < UnbiasedFresh && usable(l.Status) {
			a := byStep[l.Step]
			if a == nil {
				a = &acc{}
				byStep[l.Step] = a
			}
			a.n++
			if l.Correct {
				a.ok++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range r.Steps {
		if a := byStep[r.Steps[i].Step]; a != nil && a.n > 0 {
			r.Steps[i].SampleAccuracy = float64(a.ok) / float64(a.n)
			r.Steps[i].SampleN = a.n
		}
	}
	return nil
}

// readConfig picks the few keys the report's header shows; config.yaml is
// trainer/run's resolved config, written with every key.
func (r *Run) readConfig(b []byte) {
	var c struct {
		Preset string `yaml:"preset"`
		Run    struct {
			Seed uint64 `yaml:"seed"`
		} `yaml:"run"`
		Algo struct {
			Name string `yaml:"name"`
		} `yaml:"algo"`
		Localizer struct {
			Name string `yaml:"name"`
		} `yaml:"localizer"`
	}
	if yamlUnmarshal(b, &c) == nil {
		r.Preset, r.Seed, r.Algo, r.Localizer = c.Preset, c.Run.Seed, c.Algo.Name, c.Localizer.Name
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// eachLine calls fn with every complete line of a JSONL file. A last line
// without its newline is a write cut short and is skipped.
func eachLine(path string, fn func(line int, raw []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a torn tail (no newline) is skipped
		}
		if err != nil {
			return err
		}
		if len(raw) <= 1 {
			continue
		}
		if err := fn(n, raw); err != nil {
			return err
		}
	}
}
