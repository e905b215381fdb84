package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/config"

	// Drivers are chosen by programs and tests, never by this package.
	_ "github.com/rewind-rl/rewind/plugins/all"
	_ "github.com/rewind-rl/rewind/plugins/procverify"
	_ "github.com/rewind-rl/rewind/trainer/engine/cpu"
)

// tinyExperiment shrinks the default experiment to seconds: a nano model
// warm-started for a few steps, 2 arms x 2 seeds x 2 steps of 2 prompts.
const tinyExperiment = `
difficulty: 1
data: {seed: 3, train: 12, eval: 4}
sft:
  examples: 60
  steps: 3
  batch: 8
  optim: {warmup_steps: 1}
  eval_tasks: 0
  eval_chains: 0
  model: {preset: nano, max_positions: 160}
  self: {steps: 0}
train:
  run: {steps: 2, checkpoint_every: 0, eval_every: 1, eval_tasks: 2}
  data: {batch_prompts: 2}
  sampling: {max_steps: 2, max_step_tokens: 12, max_tokens: 24}
  localizer: {max_tokens: 4}
compare:
  seeds: [1, 2]
  eval_limit: 3
  smooth: 2
  arms:
    - {name: grpo, preset: grpo}
    - {name: srpo, preset: srpo, set: {localizer.name: self}}
`

func writeExperiment(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "exp.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestCompareEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	e, err := Load(writeExperiment(t, tinyExperiment))
	require.NoError(t, err)
	dir := t.TempDir()
	var log bytes.Buffer
	res, err := Run(context.Background(), Options{Experiment: e, Dir: dir, Log: &log})
	require.NoError(t, err, log.String())

	require.Equal(t, 8, res.TrainedPerPrompt)
	require.Equal(t, 2, res.Steps)
	require.Equal(t, 3, res.EvalTasks)
	require.Len(t, res.Arms, 2)
	for _, a := range res.Arms {
		require.Len(t, a.Seeds, 2, a.Name)
		require.Equal(t, 2, a.HeldOut.N, "%s: every run evaluated", a.Name)
		require.Len(t, a.Curves.Accuracy, 2)
		require.Equal(t, 2, a.Curves.Accuracy[0].N, "%s: the unbiased sample accuracy comes from rollouts.jsonl", a.Name)
		for _, s := range a.Seeds {
			require.Equal(t, 2, s.Steps)
			require.Positive(t, s.Tokens)
			for _, f := range []string{"config.yaml", "metrics.jsonl", "summary.json", "eval.json", "report.html"} {
				require.FileExists(t, filepath.Join(s.Dir, f))
			}
		}
	}
	grpo, srpo := res.Arms[0], res.Arms[1]
	require.Zero(t, grpo.Seeds[0].TokensByPhase["localize"], "GRPO never localizes")
	require.Zero(t, grpo.LocPrecision.N)
	require.Positive(t, srpo.Seeds[0].TokensByPhase["localize"], "SRPO's tokens include its localization calls")
	require.Positive(t, srpo.Seeds[0].TokensByPhase["parent"])
	// The same seed draws the same prompts in both arms.
	require.Equal(t, grpo.Seeds[0].Steps, srpo.Seeds[0].Steps)
	// Held-out curves: the warm start at 0 tokens, then an evaluation
	// after each of the 2 steps, on a grid up to the fewest tokens any
	// run generated; the headline compares srpo with grpo.
	require.Equal(t, 2, res.CurveTasks)
	require.Equal(t, 1, res.EvalEvery)
	for _, a := range res.Arms {
		require.Len(t, a.HeldOutCurve.Tokens, tokensGrid+1, a.Name)
		require.Equal(t, 0.0, a.HeldOutCurve.Tokens[0])
		require.Equal(t, res.WarmStartCurve, a.HeldOutCurve.Mean[0], "%s starts at the warm start", a.Name)
		for _, s := range a.Seeds {
			require.False(t, math.IsNaN(float64(s.FinalEval)), "%s seed %d evaluated during the run", a.Name, s.Seed)
		}
	}
	require.Len(t, res.Headline, 1)
	require.Equal(t, "srpo", res.Headline[0].Arm)
	require.Equal(t, "grpo", res.Headline[0].Baseline)
	require.Positive(t, res.Headline[0].Budget)
	require.Equal(t, srpo.CleanN+srpo.ErroneousN > 0, srpo.CleanCorrection.N > 0)
	// The localizer table's counts come from rollouts.jsonl and match
	// metrics.jsonl's parents: every answer is one of them.
	require.Positive(t, srpo.LocParents)
	require.LessOrEqual(t, srpo.LocAnswered, srpo.LocParents)
	require.Zero(t, grpo.LocParents)

	var back Result
	raw, err := os.ReadFile(filepath.Join(dir, JSONFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Len(t, back.Arms, 2)
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	require.NoError(t, err)
	require.Contains(t, string(md), "| grpo | grpo | 2 |")
	require.Contains(t, string(md), "| srpo | srpo | 2 |")
	require.Contains(t, string(md), "## Generated tokens to reach grpo's final held-out accuracy")
	require.Contains(t, string(md), "## Localizers against the verifier's first error")
	require.Contains(t, string(md), fmt.Sprintf("| srpo | %d | %d (", srpo.LocParents, srpo.LocAnswered))
	page, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	for _, id := range []string{"chart-heldout-tokens", "chart-accuracy-steps", "chart-accuracy-tokens", "chart-loc-precision", "chart-heldout"} {
		require.Contains(t, string(page), `id="`+id+`"`)
	}
	require.NotContains(t, string(page), "<script")

	// A second run reuses the warm start, the finished runs and their
	// evaluations: same numbers, no training.
	log.Reset()
	again, err := Run(context.Background(), Options{Experiment: e, Dir: dir, Log: &log})
	require.NoError(t, err)
	require.Contains(t, log.String(), "warm start: reusing")
	for i := range res.Arms {
		require.Equal(t, res.Arms[i].HeldOut, again.Arms[i].HeldOut)
		require.Equal(t, res.Arms[i].Tokens, again.Arms[i].Tokens)
	}
}

func TestExperimentValidate(t *testing.T) {
	require.NoError(t, Default().Validate())
	d := Default()
	require.Equal(t, []string{"grpo", "rrpo", "srpo", "srpo-oracle", "srpo-auxloc"}, armNames(d))
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, d.Compare.Seeds)

	e, err := Load(writeExperiment(t, `
family: nope
compare:
  seeds: [1, 1]
  parallel: 0
  arms:
    - {name: a, preset: grpo}
    - {name: a, preset: nope}
    - {name: "x/y", preset: srpo}
`))
	require.NoError(t, err)
	err = e.Validate()
	require.Error(t, err)
	for _, want := range []string{`family: "nope" is not a task family`, "seed 1 is listed twice", "compare.parallel: must be >= 1",
		`compare.arms[1].name: "a" is used twice`, `compare.arms[1].preset: "nope" is not a preset`, `compare.arms[2].name: "x/y"`} {
		require.ErrorContains(t, err, want)
	}

	_, err = Load(writeExperiment(t, "compare:\n  sedes: [1]\n"))
	require.ErrorContains(t, err, "sedes")
	// Lists are replaced whole, maps merged: the train section keeps its
	// other keys.
	e, err = Load(writeExperiment(t, "compare:\n  seeds: [7]\ntrain:\n  run: {steps: 5}\n"))
	require.NoError(t, err)
	require.Equal(t, []uint64{7}, e.Compare.Seeds)
	run := e.Train["run"].(map[string]any)
	require.Equal(t, 5, run["steps"])
	require.Equal(t, 50, run["checkpoint_every"])
	require.Equal(t, "srpo-tiny", e.Train["preset"])
}

// TestWorkspaceData: the default experiment's training set repeats no
// prompt of the warm start (solve or localization examples), and the
// held-out set none of either; each set's prompts are distinct; a data.seed equal to sft.seed is refused.
func TestWorkspaceData(t *testing.T) {
	e := Default()
	w := &Workspace{Dir: t.TempDir()}
	w.TrainData, w.EvalData = filepath.Join(w.Dir, "train.jsonl"), filepath.Join(w.Dir, "eval.jsonl")
	w.LocData = filepath.Join(w.Dir, "localize.jsonl")
	require.NoError(t, w.writeData(e))
	// The localization examples of the auxiliary loss are the warm
	// start's: prompts in the short template, \boxed{k} completions.
	raw, err := os.ReadFile(w.LocData)
	require.NoError(t, err)
	locLines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	require.Greater(t, len(locLines), e.SFT.Examples/10)
	var ex struct{ Prompt, Completion string }
	require.NoError(t, json.Unmarshal(locLines[0], &ex))
	require.Contains(t, ex.Prompt, "First wrong step")
	require.Regexp(t, `^\\boxed\{[0-9]+\}$`, ex.Completion)
	warm, err := warmPrompts(e)
	require.NoError(t, err)
	require.Greater(t, len(warm), e.SFT.Examples/2)
	read := func(path string) map[string]bool {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		out := map[string]bool{}
		for _, l := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			var task struct{ Prompt string }
			require.NoError(t, json.Unmarshal(l, &task))
			out[task.Prompt] = true
		}
		return out
	}
	train, eval := read(w.TrainData), read(w.EvalData)
	require.Len(t, eval, e.Data.Eval)
	require.Len(t, train, e.Data.Train)
	for p := range train {
		require.False(t, warm[p], "training prompt %q was in the warm start", p)
	}
	for p := range eval {
		require.False(t, warm[p] || train[p], "held-out prompt %q was seen before", p)
	}

	for _, seed := range []uint64{e.SFT.Seed, e.SFT.Seed - 1} {
		bad := e
		bad.Data.Seed = seed
		require.ErrorContains(t, bad.Validate(), "data.seed", "seed %d", seed)
	}
}

// TestPlanRefusesUnequalBudgets: a GRPO arm with groups of 4 against SRPO's
// 8 trained trajectories per prompt is not a fair comparison.
func TestPlanRefusesUnequalBudgets(t *testing.T) {
	e, err := Load(writeExperiment(t, tinyExperiment+`    - {name: grpo4, preset: grpo, set: {algo.group_size: 4}}
`))
	require.NoError(t, err)
	ws := &Workspace{Dir: t.TempDir(), Model: "m", TrainData: "t.jsonl", EvalData: "e.jsonl"}
	ws.TrainConfig = filepath.Join(ws.Dir, "train.yaml")
	require.NoError(t, ws.writeTrainConfig(e))
	_, _, _, err = plan(e, ws)
	require.ErrorContains(t, err, "arm grpo4 trains 4 trajectories per prompt, arm grpo 8")

	// Nor are unequal budgets of generated tokens.
	e, err = Load(writeExperiment(t, tinyExperiment+`    - {name: srpo-more, preset: srpo, set: {localizer.name: self, run.max_generated_tokens: 5000}}
`))
	require.NoError(t, err)
	e.Compare.MaxGeneratedTokens = 0
	require.NoError(t, ws.writeTrainConfig(e))
	_, _, _, err = plan(e, ws)
	require.ErrorContains(t, err, "arm srpo-more: run.max_generated_tokens must be equal in every arm")

	// compare.max_generated_tokens gives every run the same budget.
	e.Compare.MaxGeneratedTokens = 7000
	jobs, _, _, err := plan(e, ws)
	require.NoError(t, err)
	for _, j := range jobs {
		require.Equal(t, 7000, j.cfg.Run.MaxGeneratedTokens, j.arm.Name)
	}
}

func armNames(e Experiment) []string {
	var out []string
	for _, a := range e.Compare.Arms {
		out = append(out, a.Name)
	}
	return out
}

func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	e, err := Load(writeExperiment(t, tinyExperiment))
	require.NoError(t, err)
	dir := t.TempDir()
	var progress bytes.Buffer
	res, err := Demo(context.Background(), DemoOptions{Experiment: e, Dir: dir, Progress: &progress})
	require.NoError(t, err, progress.String())
	require.Equal(t, filepath.Join(dir, "run-grpo"), res.RunDir)
	require.Equal(t, 3, res.EvalTasks)
	// GRPO resets nothing, so the demo probes both policies instead.
	require.Zero(t, res.Clean.Trials+res.Erroneous.Trials)
	require.NotNil(t, res.WarmProbe)
	require.NotNil(t, res.TrainedProbe)
	require.Equal(t, e.Data.Eval, res.TrainedProbe.Tasks, "the probe samples from every held-out task")
	require.Equal(t, 3, res.WarmStart.Trials)
	require.Equal(t, 3, res.Trained.Trials)
	require.Equal(t, res.HeldOut, res.Trained.Rate)
	require.Equal(t, 3, res.Improvement.N)
	require.InDelta(t, res.HeldOut-res.WarmStartHeldOut, float64(res.Improvement.Value), 1e-12)
	page, err := os.ReadFile(res.Report)
	require.NoError(t, err)
	require.Contains(t, string(page), "Held-out evaluation")
	require.Contains(t, progress.String(), "training grpo (preset grpo, 2 steps)")

	// Again: the warm start and the finished run are kept.
	progress.Reset()
	again, err := Demo(context.Background(), DemoOptions{Experiment: e, Dir: dir, Progress: &progress})
	require.NoError(t, err)
	require.Contains(t, progress.String(), "warm start: reusing")
	require.Contains(t, progress.String(), "is a finished run: keeping it")
	require.Equal(t, res.HeldOut, again.HeldOut)

	// A changed config never reuses the finished run of the old one.
	changed := e
	changed.Train = merge(e.Train, map[string]any{"optim": map[string]any{"lr": 0.01}})
	_, err = Demo(context.Background(), DemoOptions{Experiment: changed, Dir: dir})
	require.ErrorContains(t, err, "holds a run of another warm start or config")
	// Nor does a run directory made before stamps existed.
	require.NoError(t, os.Remove(filepath.Join(res.RunDir, stampFile)))
	_, err = Demo(context.Background(), DemoOptions{Experiment: e, Dir: dir})
	require.ErrorContains(t, err, "has no experiment.key")

	_, err = Demo(context.Background(), DemoOptions{Experiment: e, Dir: dir, Arm: "nope"})
	require.ErrorContains(t, err, `no arm "nope" (have [grpo srpo])`)
}

var update = flag.Bool("update", false, "rewrite docs/experiment-config.md")

// docs/experiment-config.md documents every key of the experiment file;
// rewind compare --print-config-keys prints it.
func TestConfigDocIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "experiment-config.md")
	doc := ConfigDoc()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
	}
	have, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./experiment -run TestConfigDocIsCurrent -update`")
	require.Equal(t, doc, string(have), "docs/experiment-config.md is stale: run `go test ./experiment -run TestConfigDocIsCurrent -update`")
	for _, k := range Schema().Keys() {
		require.Contains(t, doc, "`"+k.Path+"`")
	}
}

// The experiment loads like the other configs: environment variables and
// flags over the file, lists replaced whole, unknown keys named with the
// key meant, and the resolved experiment reads back to itself.
func TestLoadSources(t *testing.T) {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	AddFlags(fs)
	require.NoError(t, fs.Parse([]string{"--sft.steps", "11", "--set", "compare.seeds=8,9"}))
	e, err := LoadSources(config.Sources{File: writeExperiment(t, "compare:\n  seeds: [7]\n  smooth: 3\n"), Flags: fs,
		Environ: []string{"REWIND_EXPERIMENT_SFT_OPTIM_LR=0.5", "REWIND_SFT_STEPS=99"}}) // rewind sft's variables are not the experiment's
	require.NoError(t, err)
	require.Equal(t, 11, e.SFT.Steps)
	require.Equal(t, 0.5, e.SFT.Optim.LR)
	require.Equal(t, []uint64{8, 9}, e.Compare.Seeds)
	require.Equal(t, 3, e.Compare.Smooth)
	require.Equal(t, Default().Compare.Arms, e.Compare.Arms)

	y, err := e.YAML()
	require.NoError(t, err)
	again, err := LoadSources(config.Sources{File: writeExperiment(t, string(y))})
	require.NoError(t, err)
	require.Equal(t, e, again)

	_, err = LoadSources(config.Sources{Environ: []string{"REWIND_EXPERIMENT_SFT_LR=1"}})
	require.ErrorContains(t, err, "unknown variable REWIND_EXPERIMENT_SFT_LR (did you mean REWIND_EXPERIMENT_SFT_OPTIM_LR?)")
	_, err = Load(writeExperiment(t, "compare:\n  arms:\n    - {name: a, preset: grpo, sett: {}}\n"))
	require.ErrorContains(t, err, "sett")
}
