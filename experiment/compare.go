package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/report"
	"github.com/rewind-rl/rewind/trainer/run"
	"github.com/rewind-rl/rewind/trainer/sft"
)

// Files a comparison writes into its directory.
const (
	JSONFile     = "compare.json"
	MarkdownFile = "compare.md"
	ReportFile   = "report.html"
)

// Options configure Run.
type Options struct {
	Experiment Experiment
	// Dir is the output directory (the workspace, runs/ and the reports).
	Dir string
	// Log receives plain progress lines; nil discards them.
	Log io.Writer
	// Now is the clock for wall times; nil uses time.Now.
	Now func() time.Time
}

// Result is compare.json.
type Result struct {
	Dir    string `json:"dir"`
	Family string `json:"family"`
	// TrainedPerPrompt is the budget every arm trains on per prompt.
	TrainedPerPrompt int        `json:"trained_per_prompt"`
	Steps            int        `json:"steps"`
	Seeds            []uint64   `json:"seeds"`
	Smooth           int        `json:"smooth"`
	EvalTasks        int        `json:"eval_tasks"`
	WarmStart        sft.Report `json:"warm_start"`
	// WarmStartHeldOut is the warm start's greedy pass@1 on the same
	// held-out tasks as the arms (the step-0 reference).
	WarmStartHeldOut Value       `json:"warm_start_held_out_pass_at_1"`
	Arms             []ArmResult `json:"arms"`
	WallSec          float64     `json:"wall_sec"`
	// TokenBudget is every run's run.max_generated_tokens (0: the runs
	// were given equal steps instead).
	TokenBudget int `json:"token_budget"`
	// EvalEvery and CurveTasks say how the held-out curves were made:
	// every EvalEvery steps on the first CurveTasks held-out tasks; the
	// warm start scores WarmStartCurve on them.
	EvalEvery      int   `json:"eval_every"`
	CurveTasks     int   `json:"curve_tasks"`
	WarmStartCurve Value `json:"warm_start_curve_pass_at_1"`
	// Headline holds, for every arm but the baseline (the arm named
	// grpo), the tokens it needs to reach the baseline's final held-out
	// accuracy as a fraction of the baseline's budget.
	Headline []TokensToReach `json:"tokens_to_reach_baseline"`
}

// Baseline is the arm the headline measures the others against.
const Baseline = "grpo"

// job is one (arm, seed) run.
type job struct {
	arm  Arm
	seed uint64
	dir  string
	cfg  run.Config
	// stamp identifies the warm start and config (see claimRun).
	stamp string
}

// Run prepares the workspace, trains every arm over every seed (reusing
// finished runs and resuming interrupted ones in Dir), evaluates the final
// policies, and writes compare.json, compare.md and report.html.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	start := opts.Now()
	e := opts.Experiment
	ws, err := Prepare(ctx, e, opts.Dir, opts.Log)
	if err != nil {
		return nil, err
	}
	jobs, budget, steps, err := plan(e, ws)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: opts.Dir, Family: e.Family, TrainedPerPrompt: budget, Steps: steps, Seeds: e.Compare.Seeds,
		Smooth: e.Compare.Smooth, WarmStart: ws.SFT}

	warm, err := evalResultCached(ctx, jobs[0].cfg, ws.Model, ws.EvalData, filepath.Join(ws.Dir, "warmstart", report.EvalFile), e.Compare.EvalLimit, ws.Reused)
	if err != nil {
		return nil, fmt.Errorf("warm start eval: %w", err)
	}
	held, n := warm.PassAt1Greedy, warm.Tasks
	res.WarmStartHeldOut, res.EvalTasks = Value(held), n
	c0 := jobs[0].cfg.Run
	res.TokenBudget, res.EvalEvery, res.CurveTasks = c0.MaxGeneratedTokens, c0.EvalEvery, min(c0.EvalTasks, n)
	if res.CurveTasks == 0 {
		res.CurveTasks = n
	}
	warmCurve := greedyPassFirst(warm, c0.EvalTasks)
	res.WarmStartCurve = Value(warmCurve)
	fmt.Fprintf(opts.Log, "warm start: held-out greedy pass@1 %.3f on %d tasks\n", held, n)

	runs := make([]seedRun, len(jobs))
	var (
		mu    sync.Mutex
		done  int
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, e.Compare.Parallel)
	)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if ctx.Err() != nil {
				return
			}
			j := jobs[i]
			sr, err := trainOne(ctx, j, ws.EvalData, e.Compare.EvalLimit, warmCurve, opts.Now)
			mu.Lock()
			defer mu.Unlock()
			done++
			if err != nil {
				errs = append(errs, fmt.Errorf("%s seed %d: %w", j.arm.Name, j.seed, err))
				fmt.Fprintf(opts.Log, "[%d/%d] %s seed %d: FAILED: %v\n", done, len(jobs), j.arm.Name, j.seed, err)
				return
			}
			runs[i] = sr
			fmt.Fprintf(opts.Log, "[%d/%d] %s seed %d: %d steps in %.0f s, held-out greedy pass@1 %.3f (%s)\n",
				done, len(jobs), j.arm.Name, j.seed, len(sr.run.Steps), sr.wallSec, sr.heldOut, j.dir)
		}()
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return nil, err
	}
	curves := map[string][]EvalCurve{}
	top := math.Inf(1)
	for _, a := range e.Compare.Arms {
		var rs []seedRun
		for i, j := range jobs {
			if j.arm.Name == a.Name {
				rs = append(rs, runs[i])
				if c := runs[i].curve; len(c.Tokens) > 0 {
					curves[a.Name] = append(curves[a.Name], c)
					top = math.Min(top, c.end())
				}
			}
		}
		res.Arms = append(res.Arms, aggregate(a.Name, a.Preset, rs, e.Compare.Smooth))
	}
	// Held-out curves on one token grid, up to where every run reached.
	for i := range res.Arms {
		res.Arms[i].HeldOutCurve = NewCurveBand(curves[res.Arms[i].Name], top, tokensGrid)
	}
	if _, ok := curves[Baseline]; ok {
		for _, a := range res.Arms {
			if a.Name != Baseline && len(curves[a.Name]) > 0 {
				res.Headline = append(res.Headline, NewTokensToReach(Baseline, a.Name, curves[Baseline], curves[a.Name]))
			}
		}
	}
	res.WallSec = opts.Now().Sub(start).Seconds()
	if err := write(opts.Dir, res); err != nil {
		return nil, err
	}
	return res, nil
}

// plan builds every run's config and checks that the arms share the
// budget of trained trajectories per prompt and the number of steps.
func plan(e Experiment, ws *Workspace) (jobs []job, budget, steps int, err error) {
	var errs []error
	tokens := 0
	for _, a := range e.Compare.Arms {
		for _, seed := range e.Compare.Seeds {
			dir := filepath.Join(ws.Dir, "runs", fmt.Sprintf("%s-seed%d", a.Name, seed))
			cfg, err := ArmConfig(ws, a, seed, dir)
			if err != nil {
				errs = append(errs, fmt.Errorf("arm %s: %w", a.Name, err))
				break
			}
			if n := e.Compare.MaxGeneratedTokens; n > 0 {
				cfg.Run.MaxGeneratedTokens = n
			}
			b := trainedPerPrompt(cfg)
			if len(jobs) == 0 {
				budget, steps, tokens = b, cfg.Run.Steps, cfg.Run.MaxGeneratedTokens
			}
			if b != budget {
				errs = append(errs, fmt.Errorf("arm %s trains %d trajectories per prompt, arm %s %d: compare arms at the same budget (algo.group_size)", a.Name, b, jobs[0].arm.Name, budget))
			}
			if cfg.Run.Steps != steps || steps == 0 {
				errs = append(errs, fmt.Errorf("arm %s: run.steps must be set and equal in every arm (got %d and %d)", a.Name, cfg.Run.Steps, steps))
			}
			if cfg.Run.MaxGeneratedTokens != tokens {
				errs = append(errs, fmt.Errorf("arm %s: run.max_generated_tokens must be equal in every arm, so that every arm gets the same budget of generated tokens (got %d and %d)", a.Name, cfg.Run.MaxGeneratedTokens, tokens))
			}
			stamp, err := ws.runStamp(cfg)
			if err != nil {
				return nil, 0, 0, err
			}
			jobs = append(jobs, job{arm: a, seed: seed, dir: dir, cfg: cfg, stamp: stamp})
		}
	}
	return jobs, budget, steps, errors.Join(errs...)
}

// ArmConfig is the train config of one arm and seed in a workspace:
// train.yaml with the arm's preset and keys, run.seed and run.dir.
func ArmConfig(ws *Workspace, a Arm, seed uint64, dir string) (run.Config, error) {
	ov := map[string]any{"preset": a.Preset, "run.seed": seed, "run.dir": dir}
	for k, v := range a.Set {
		ov[k] = v
	}
	return run.Load(run.Sources{File: ws.TrainConfig, Overrides: ov})
}

// trainedPerPrompt is the number of trajectories trained per prompt:
// the group for a method without resets (GRPO), 8 for every reset
// layout (docs/method.md). c is valid (run.Load checked it).
func trainedPerPrompt(c run.Config) int {
	if m, err := algo.MethodNamed(c.Algo.Name); err == nil && !m.Resets() {
		return c.Algo.GroupSize
	}
	return 8
}

// trainOne trains (or reuses, or resumes) one run, evaluates its final
// policy and writes its report.
func trainOne(ctx context.Context, j job, evalData string, limit int, warmCurve float64, now func() time.Time) (seedRun, error) {
	t0 := now()
	if err := claimRun(j.dir, j.stamp); err != nil {
		return seedRun{}, err
	}
	summary := filepath.Join(j.dir, "summary.json")
	if _, err := os.Stat(summary); err != nil {
		logf, err := os.OpenFile(filepath.Join(j.dir, trainLog), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return seedRun{}, err
		}
		defer logf.Close()
		cfg := j.cfg
		cfg.Run.Log = "plain"
		o := run.Options{Config: cfg, Keep: []string{stampFile, trainLog}, Log: slog.New(slog.NewTextHandler(logf, nil)), Progress: logf, Now: now}
		if _, err := os.Stat(filepath.Join(j.dir, "config.yaml")); err == nil {
			o = run.Options{Resume: j.dir, Log: o.Log, Progress: logf, Now: now}
		}
		if _, err := run.Train(ctx, o); err != nil {
			return seedRun{}, err
		}
	}
	held, _, err := evalCached(ctx, j.cfg, j.dir, evalData, filepath.Join(j.dir, report.EvalFile), limit, true)
	if err != nil {
		return seedRun{}, fmt.Errorf("eval: %w", err)
	}
	if err := report.WriteRun(j.dir); err != nil {
		return seedRun{}, err
	}
	r, err := report.ReadRun(j.dir)
	if err != nil {
		return seedRun{}, err
	}
	wall := now().Sub(t0).Seconds()
	if ws, ok := r.Summary["wall_sec"].(float64); ok {
		wall = ws
	}
	return seedRun{seed: j.seed, dir: j.dir, run: r, heldOut: held, wallSec: wall, curve: heldOutCurve(r.Steps, warmCurve)}, nil
}

// evalCached evaluates the policy at model (a run or policy directory)
// greedily on the held-out set and writes the result to out; with reuse,
// an existing out for the same dataset and limit is read instead.
func evalCached(ctx context.Context, cfg run.Config, model, dataset, out string, limit int, reuse bool) (float64, int, error) {
	res, err := evalResultCached(ctx, cfg, model, dataset, out, limit, reuse)
	if err != nil {
		return math.NaN(), 0, err
	}
	return res.PassAt1Greedy, res.Tasks, nil
}

// greedyPassFirst is greedy pass@1 over the first n tasks of an
// evaluation (all when n is 0 or too large), unusable verdicts left out:
// the warm start's value on the subset runs evaluate during training.
func greedyPassFirst(res run.EvalResult, n int) float64 {
	per := res.PerTask
	if n > 0 && n < len(per) {
		per = per[:n]
	}
	ok, usable := 0, 0
	for _, t := range per {
		if t.GreedyStatus.Usable() {
			usable++
			if t.GreedyCorrect {
				ok++
			}
		}
	}
	if usable == 0 {
		return math.NaN()
	}
	return float64(ok) / float64(usable)
}

func evalResultCached(ctx context.Context, cfg run.Config, model, dataset, out string, limit int, reuse bool) (run.EvalResult, error) {
	type cached struct {
		run.EvalResult
		Limit int `json:"limit"`
	}
	if reuse {
		var c cached
		if raw, err := os.ReadFile(out); err == nil && json.Unmarshal(raw, &c) == nil && c.Dataset == dataset && c.Limit == limit {
			return c.EvalResult, nil
		}
	}
	cfg.Model.Path, cfg.Model.Preset = model, ""
	// Greedy decoding batches across prompts; larger batches are faster.
	cfg.Data.BatchPrompts = max(cfg.Data.BatchPrompts, 32)
	res, err := run.Eval(ctx, run.EvalOptions{Config: cfg, Dataset: dataset, Limit: limit})
	if err != nil {
		return run.EvalResult{}, err
	}
	raw, err := json.MarshalIndent(cached{res, limit}, "", "  ")
	if err != nil {
		return run.EvalResult{}, err
	}
	if err := os.WriteFile(out, append(raw, '\n'), 0o644); err != nil {
		return run.EvalResult{}, err
	}
	return res, nil
}
