package experiment

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/probe"
	"github.com/rewind-rl/rewind/trainer/report"
	"github.com/rewind-rl/rewind/trainer/run"
)

// DemoArm is the arm rewind demo trains by default: GRPO with the tiny
// recipe, the one shown to improve the walk warm start (docs/recipe.md).
const DemoArm = "grpo"

// DemoOptions configure Demo.
type DemoOptions struct {
	Experiment Experiment
	// Dir is the workspace; the run goes to Dir/run-ARM.
	Dir string
	// Arm names the experiment arm to train (default DemoArm).
	Arm string
	// Progress receives log lines and the training progress (a bar when
	// Terminal is set and the config's run.log is auto); nil discards.
	Progress io.Writer
	Terminal bool
	// Now is the clock for wall times; nil uses time.Now.
	Now func() time.Time
	// ProbeFailures is how many failures rewind probe's measurement takes
	// on the warm start and on the trained policy when the arm has no
	// resets of its own to count (GRPO); 0 means 200, < 0 skips it.
	ProbeFailures int
}

// DemoResult says what Demo made.
type DemoResult struct {
	RunDir, Report string
	// HeldOut is the final policy's greedy pass@1 on the held-out set, and
	// WarmStartHeldOut the warm start's on the same tasks.
	HeldOut, WarmStartHeldOut float64
	EvalTasks                 int
	WallSec                   float64
	// Trained and WarmStart are the two held-out pass@1 with their 95%
	// Wilson intervals over the tasks.
	Trained, WarmStart probe.Rate
	// Improvement is Trained - WarmStart over the tasks both verdicts
	// are usable on, with a 95% bootstrap interval over those tasks
	// (paired: the same tasks before and after).
	Improvement CI
	// Clean and Erroneous are the right reset continuations inside RL
	// from prefixes at or before the verifier's first wrong step and
	// from prefixes past it, pooled over the run (zero trials for an arm
	// without resets); LocPrecision and LocRecall the localizer's.
	Clean, Erroneous        probe.Rate
	LocPrecision, LocRecall float64
	LocParents              int
	// WarmProbe and TrainedProbe are rewind probe's clean vs erroneous
	// prefix measurement on the held-out tasks, made instead when the
	// arm resets nothing (nil otherwise, or when skipped).
	WarmProbe, TrainedProbe *probe.Report
}

// Demo runs the default experiment's single arm: prepares the workspace
// (data and the warm start, reused when cached), trains the arm with the
// first seed (resuming an interrupted run; a finished one is kept),
// evaluates the warm start and the final policy greedily on the held-out
// set, and writes the run's HTML report.
func Demo(ctx context.Context, o DemoOptions) (*DemoResult, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Arm == "" {
		o.Arm = DemoArm
	}
	start := o.Now()
	e := o.Experiment
	arm, ok := e.Arm(o.Arm)
	if !ok {
		return nil, fmt.Errorf("demo: the experiment has no arm %q (have %v)", o.Arm, armList(e))
	}
	if len(e.Compare.Seeds) == 0 {
		return nil, fmt.Errorf("demo: compare.seeds is empty")
	}
	ws, err := Prepare(ctx, e, o.Dir, o.Progress)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Dir, "run-"+arm.Name)
	cfg, err := ArmConfig(ws, arm, e.Compare.Seeds[0], dir)
	if err != nil {
		return nil, fmt.Errorf("demo: arm %s: %w", arm.Name, err)
	}
	stamp, err := ws.runStamp(cfg)
	if err != nil {
		return nil, err
	}
	if err := claimRun(dir, stamp); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	res := &DemoResult{RunDir: dir, Report: filepath.Join(dir, report.ReportFile)}
	warm, err := evalResultCached(ctx, cfg, ws.Model, ws.EvalData,
		filepath.Join(ws.Dir, "warmstart", report.EvalFile), e.Compare.EvalLimit, ws.Reused)
	if err != nil {
		return nil, fmt.Errorf("demo: warm start eval: %w", err)
	}
	res.WarmStartHeldOut, res.EvalTasks = warm.PassAt1Greedy, warm.Tasks
	fmt.Fprintf(o.Progress, "warm start: held-out greedy pass@1 %.3f on %d tasks\n", res.WarmStartHeldOut, res.EvalTasks)

	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		fmt.Fprintf(o.Progress, "%s is a finished run: keeping it (delete it to train again)\n", dir)
	} else {
		log := slog.New(slog.NewTextHandler(o.Progress, nil))
		opts := run.Options{Config: cfg, Keep: []string{stampFile}, Log: log, Progress: o.Progress, Terminal: o.Terminal, Now: o.Now}
		if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
			fmt.Fprintf(o.Progress, "resuming the interrupted run in %s\n", dir)
			opts = run.Options{Resume: dir, Log: log, Progress: o.Progress, Terminal: o.Terminal, Now: o.Now}
		} else {
			fmt.Fprintf(o.Progress, "training %s (preset %s, %d steps) into %s\n", arm.Name, cfg.Preset, cfg.Run.Steps, dir)
		}
		if _, err := run.Train(ctx, opts); err != nil {
			return nil, err
		}
	}
	trained, err := evalResultCached(ctx, cfg, dir, ws.EvalData, filepath.Join(dir, report.EvalFile), e.Compare.EvalLimit, true)
	if err != nil {
		return nil, fmt.Errorf("demo: eval: %w", err)
	}
	res.HeldOut = trained.PassAt1Greedy
	res.WarmStart, res.Trained, res.Improvement = comparePaired(warm, trained)
	if err := report.WriteRun(dir); err != nil {
		return nil, err
	}
	r, err := report.ReadRun(dir)
	if err != nil {
		return nil, err
	}
	sr := summarizeSeed(seedRun{run: r}, 1)
	res.Clean = probe.NewRate(int(math.Round(sr.CleanCorrect)), sr.CleanN)
	res.Erroneous = probe.NewRate(int(math.Round(sr.ErroneousCorrect)), sr.ErroneousN)
	res.LocPrecision, res.LocRecall, res.LocParents = float64(sr.LocPrecision), float64(sr.LocRecall), sr.LocParents
	if res.Clean.Trials+res.Erroneous.Trials == 0 && o.ProbeFailures >= 0 {
		n := o.ProbeFailures
		if n == 0 {
			n = 200
		}
		policy, err := run.ResolvePolicy(dir)
		if err != nil {
			return nil, err
		}
		for _, p := range []struct {
			dir string
			out **probe.Report
		}{{ws.Model, &res.WarmProbe}, {policy, &res.TrainedProbe}} {
			rep, err := probePolicy(ctx, cfg, p.dir, ws.EvalData, n)
			if err != nil {
				return nil, fmt.Errorf("demo: probe %s: %w", p.dir, err)
			}
			*p.out = &rep
		}
		fmt.Fprintf(o.Progress, "probed %d failures of the warm start and of the trained policy\n", n)
	}
	res.WallSec = o.Now().Sub(start).Seconds()
	return res, nil
}

// probePolicy runs rewind probe's measurement on the policy in dir over
// the held-out tasks: failures failed samples, continuations from the
// prefix before their first wrong step and from one past it.
func probePolicy(ctx context.Context, cfg run.Config, dir, evalData string, failures int) (probe.Report, error) {
	mc, err := model.ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return probe.Report{}, err
	}
	pol, err := engine.Open(cfg.Model.Engine, engine.Options{Dir: dir, WeightsOnly: true})
	if err != nil {
		return probe.Report{}, err
	}
	if c, ok := pol.(interface{ Close() error }); ok {
		defer c.Close()
	}
	ds, err := data.ReadFile(evalData)
	if err != nil {
		return probe.Report{}, err
	}
	ts := make([]abi.Task, len(ds.Examples))
	for i, ex := range ds.Examples {
		ts[i] = ex.Task()
	}
	verify := func(_ context.Context, t abi.Task, response string, steps []abi.Span) (float64, int, error) {
		v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: response, Steps: steps})
		if v.Status != abi.StatusOK || v.FirstError == nil {
			return 0, 0, fmt.Errorf("verify task %s: %s: %s", t.ID, v.Status, v.Detail)
		}
		return v.Score, *v.FirstError, nil
	}
	return probe.Run(ctx, pol, ts, probe.Setup{Render: cfg.Data.Template.Render, Segment: tasks.SplitSteps, Verify: verify},
		probe.Options{Failures: failures, MaxTokens: mc.MaxPositions, Seed: cfg.Run.Seed})
}

// comparePaired returns the greedy pass@1 of two evaluations of the same
// tasks with Wilson intervals, and their paired difference (after minus
// before) over the tasks both have usable verdicts on.
func comparePaired(before, after run.EvalResult) (b, a probe.Rate, diff CI) {
	count := func(r run.EvalResult) probe.Rate {
		ok, n := 0, 0
		for _, t := range r.PerTask {
			if t.GreedyStatus.Usable() {
				n++
				if t.GreedyCorrect {
					ok++
				}
			}
		}
		return probe.NewRate(ok, n)
	}
	var bs, as []bool
	for i := range min(len(before.PerTask), len(after.PerTask)) {
		x, y := before.PerTask[i], after.PerTask[i]
		if x.ID == y.ID && x.GreedyStatus.Usable() && y.GreedyStatus.Usable() {
			bs, as = append(bs, x.GreedyCorrect), append(as, y.GreedyCorrect)
		}
	}
	return count(before), count(after), PairedDiffCI(bs, as)
}

func armList(e Experiment) []string {
	var out []string
	for _, a := range e.Compare.Arms {
		out = append(out, a.Name)
	}
	return out
}
