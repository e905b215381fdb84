package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/rewind-rl/rewind/plugins/all" // builtin plugins: linked by programs and tests, never by package run
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	_ "github.com/rewind-rl/rewind/trainer/engine/cpu"
)

// The end-to-end tests train a tiny from-scratch model on a synthetic
// addition task, graded by the boxed verifier compiled to WebAssembly.
// A random model never writes \boxed{}, so every reward would be 0 and
// the invariants would hold trivially; warmModel first teaches it the
// answer format for a few dozen steps, so that answers are right only
// sometimes and groups carry non-zero advantages.

const (
	e2eAlphabet = "0123456789+=\\{}boxed"
	e2eWasm     = "../../examples/plugins/boxed-go/boxed.wasm"
)

var (
	warmOnce sync.Once
	warmDir  string
	warmErr  error
)

// e2eData writes n addition tasks a+b= with single-digit sums.
func e2eData(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		x, y := i%5, (i*3)%5
		fmt.Fprintf(&b, `{"id":"add-%d","prompt":"%d+%d=","answer":"%d"}`+"\n", i, x, y, x+y)
	}
	return writeFile(t, "train.jsonl", b.String())
}

// e2eConfig is a preset shrunk to seconds: 2 prompts per step, answers of
// one short step, a 4-token self-localization.
func e2eConfig(t *testing.T, preset, dir, model, train string) Config {
	t.Helper()
	c, err := Preset(preset)
	require.NoError(t, err)
	c.Run.Dir, c.Run.Steps, c.Run.CheckpointEvery, c.Run.Log = dir, 2, 1, "none"
	c.Run.Seed = 3
	c.Model.Path = model
	c.Data.Train, c.Data.BatchPrompts = train, 2
	c.Data.Template = data.Template{Kind: data.TemplatePlain}
	c.Sampling.MaxSteps, c.Sampling.MaxStepTokens, c.Sampling.MaxTokens = 2, 12, 24
	c.Sampling.Delimiter = "}"
	c.Localizer.MaxTokens, c.Localizer.Template = 4, "{{problem}}{{steps}}="
	c.Reward.Verifier = "boxed-wasm"
	c.Plugins = map[string]map[string]any{"boxed-wasm": {"wasm": e2eWasm}}
	c.Optim.LR = 1e-3
	require.NoError(t, c.Validate())
	return c
}

// warmModel writes a tiny model trained for a few steps on
// "a+b=a+b}\boxed{s}" (two steps, the delimiter being "}") with s the
// right sum half of the time, so that it learns the format and some
// arithmetic; once per test binary.
func warmModel(t *testing.T) string {
	t.Helper()
	warmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rewind-e2e-")
		if err != nil {
			warmErr = err
			return
		}
		c, _ := Preset("srpo")
		c.Model = ModelConfig{Engine: "cpu", Preset: "tiny", Tokenizer: "char:" + e2eAlphabet}
		c.Run.Seed = 7
		init, err := initModel(c, filepath.Join(dir, "init"))
		if err != nil {
			warmErr = err
			return
		}
		pol, err := engine.Open("cpu", engine.Options{Dir: init, Seed: 7, Optim: engine.Optim{
			LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, GradClip: 1, Schedule: "constant",
		}})
		if err != nil {
			warmErr = err
			return
		}
		tok := pol.Tokenizer()
		var seqs []engine.Sequence
		for i := range 20 {
			x, y := i%5, (i*3)%5
			s := x + y
			if i%2 == 1 {
				s = (s + 1 + i%3) % 10
			}
			prompt := tok.Encode(fmt.Sprintf("%d+%d=", x, y))
			// Two steps: restate the sum, then answer.
			resp := tok.Encode(fmt.Sprintf(`%d+%d}\boxed{%d}`, x, y, s))
			resp = append(resp, tok.EOS())
			seq := engine.Sequence{Tokens: append(append([]int{}, prompt...), resp...)}
			seq.Weights = make([]float32, len(seq.Tokens))
			for k := len(prompt); k < len(seq.Tokens); k++ {
				seq.Weights[k] = 1 / float32(len(resp)*20)
			}
			seqs = append(seqs, seq)
		}
		for range 60 {
			if _, err := pol.Update(context.Background(), engine.Batch{Seqs: seqs, Loss: engine.LossPG}); err != nil {
				warmErr = err
				return
			}
		}
		warmDir = filepath.Join(dir, "warm")
		warmErr = pol.Save(warmDir)
	})
	require.NoError(t, warmErr)
	return warmDir
}

func readRollouts(t *testing.T, dir string) map[int][]RolloutLine {
	t.Helper()
	out := map[int][]RolloutLine{}
	for _, l := range readLines(t, filepath.Join(dir, RolloutsFile)) {
		var r RolloutLine
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		out[r.Step] = append(out[r.Step], r)
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	require.FileExists(t, e2eWasm, "the committed Wasm verifier is missing")
	model := warmModel(t)
	train := e2eData(t, 8)
	nonZero, prefixed := 0, 0
	for _, preset := range []string{"grpo", "rrpo", "srpo"} {
		t.Run(preset, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), preset)
			cfg := e2eConfig(t, preset, dir, model, train)
			sum, err := Train(context.Background(), Options{Config: cfg})
			require.NoError(t, err)
			require.Equal(t, 2, sum.Steps)

			steps := readRollouts(t, dir)
			require.Len(t, steps, 2)
			for step, lines := range steps {
				require.NoError(t, checkInvariants(lines, cfg.Algo.Layout), "step %d", step)
				parents, resets := 0, 0
				for _, l := range lines {
					require.Equal(t, "boxed-wasm", l.Verifier)
					require.Len(t, l.VerifierSHA256, 64, "a Wasm module's sha256")
					if l.Advantage != 0 {
						nonZero++
					}
					switch {
					case l.Role == algo.RoleParent:
						parents++
						require.NotNil(t, l.Reset, "a parent's line records its localization")
					case l.Origin == algo.OriginReset:
						resets++
						if l.PrefixLen > 0 {
							prefixed++
						}
					}
				}
				if preset == "grpo" {
					require.Zero(t, parents+resets)
				} else {
					require.Equal(t, 4*parents, resets)
				}
			}
			ms := readLines(t, filepath.Join(dir, MetricsFile))
			require.Len(t, ms, 2)
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(ms[0]), &m))
			for _, k := range []string{"step", "epoch", "rollout", "update", "plugins", "time"} {
				require.Contains(t, m, k)
			}
			require.Contains(t, m["plugins"], "boxed-wasm")
		})
	}
	require.Positive(t, nonZero, "every advantage was 0: the warm-started model never mixes right and wrong answers")
	require.Positive(t, prefixed, "no reset kept a prefix: the suffix-only mask was not exercised")
}

// TestKillAndResumeEndToEnd is the kill test on a real run: the tiny
// model, the rollout, the Wasm verifier and the engine's checkpoints. A
// run SIGKILLed at three moments and resumed each time must end with the
// metrics (apart from "time") and rollouts of an uninterrupted run.
func TestKillAndResumeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model in child processes")
	}
	require.FileExists(t, e2eWasm, "the committed Wasm verifier is missing")
	model := warmModel(t)
	train := e2eData(t, 8)
	wasm, err := filepath.Abs(e2eWasm)
	require.NoError(t, err)
	config := func(dir string) Config {
		c := e2eConfig(t, "srpo", dir, model, train)
		c.Run.Steps, c.Run.CheckpointEvery = 6, 2
		c.Plugins["boxed-wasm"]["wasm"] = wasm
		return c
	}
	ref := filepath.Join(t.TempDir(), "ref")
	_, err = Train(context.Background(), Options{Config: config(ref)})
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "run")
	raw, err := json.Marshal(config(dir))
	require.NoError(t, err)
	// Kill points in steps completed (read from metrics.jsonl): inside the
	// first checkpoint interval, right after a checkpoint may have begun,
	// and late in the run.
	killAfter := []int{1, 2, 5}
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 10, "the run never finished")
		arg := dir
		if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil {
			arg = string(raw)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "RWTEST_E2E_CHILD="+arg)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if len(killAfter) == 0 {
			require.NoError(t, <-exited, stderr.String())
			break
		}
		target := killAfter[0]
		killed := false
		for !killed {
			select {
			case err := <-exited:
				t.Fatalf("child exited before step %d: %v\n%s", target, err, stderr.String())
			case <-time.After(20 * time.Millisecond):
				if countLines(filepath.Join(dir, MetricsFile)) >= target {
					require.NoError(t, cmd.Process.Kill())
					<-exited
					killed = true
				}
			}
		}
		killAfter = killAfter[1:]
		requireWholeEngineCheckpoints(t, dir)
	}
	requireSameRun(t, ref, dir)
}

// countLines counts the complete lines of a file (0 when absent).
func countLines(path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(raw), "\n")
}

func requireWholeEngineCheckpoints(t *testing.T, dir string) {
	t.Helper()
	all, err := checkpoints(dir)
	require.NoError(t, err)
	for _, c := range all {
		for _, f := range []string{stateFile, "policy/model.safetensors", "policy/config.json", "policy/tokenizer.json"} {
			_, err := os.Stat(filepath.Join(c, f))
			require.NoError(t, err, "checkpoint %s lacks %s", c, f)
		}
	}
}

func TestEvalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a model")
	}
	require.FileExists(t, e2eWasm, "the committed Wasm verifier is missing")
	model := warmModel(t)
	evalSet := e2eData(t, 6)
	cfg := e2eConfig(t, "srpo", filepath.Join(t.TempDir(), "unused"), model, evalSet)
	cfg.Data.BatchPrompts = 4 // two batches: 4 + 2 tasks

	res, err := Eval(context.Background(), EvalOptions{Config: cfg, Dataset: evalSet, Samples: 4, Ks: []int{1, 4}})
	require.NoError(t, err)
	require.Equal(t, 6, res.Tasks)
	require.Len(t, res.PerTask, 6)
	require.Equal(t, "add-5", res.PerTask[5].ID)
	require.Len(t, res.VerifierSHA256, 64)
	require.Equal(t, 6*5, res.Statuses[abi.StatusOK]) // 1 greedy + 4 samples per task
	correct := 0
	for _, te := range res.PerTask {
		require.Equal(t, 4, te.Samples)
		correct += te.Correct
	}
	require.InDelta(t, float64(correct)/24, res.PassAtK["pass@1"], 1e-12)
	require.GreaterOrEqual(t, res.PassAtK["pass@4"], res.PassAtK["pass@1"])

	// Greedy decoding is deterministic: a second evaluation agrees.
	again, err := Eval(context.Background(), EvalOptions{Config: cfg, Dataset: evalSet})
	require.NoError(t, err)
	for i := range res.PerTask {
		require.Equal(t, res.PerTask[i].GreedyCorrect, again.PerTask[i].GreedyCorrect)
	}
	require.Equal(t, res.PassAt1Greedy, again.PassAt1Greedy)

	_, err = Eval(context.Background(), EvalOptions{Config: cfg, Dataset: evalSet, Samples: 2, Ks: []int{4}})
	require.ErrorContains(t, err, "pass@4 needs 1 <= k <= samples (2)")
}

// A verifier that always fails (a trapping Wasm guest) never yields a
// trained reward: under drop_sample every sample is dropped, nothing is
// trained and the update is skipped; under fail_run the run stops.
func TestFailingVerifier(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a model")
	}
	const trap = "../../host/testdata/hostile/trap.wasm"
	require.FileExists(t, trap, "the committed hostile guest is missing")
	model := warmModel(t)
	train := e2eData(t, 4)

	dir := filepath.Join(t.TempDir(), "drop")
	cfg := e2eConfig(t, "grpo", dir, model, train)
	cfg.Run.Steps = 1
	cfg.Plugins["boxed-wasm"] = map[string]any{"wasm": trap, "on_failure": map[string]any{"retry": 1, "action": "drop_sample"}}
	_, err := Train(context.Background(), Options{Config: cfg})
	// Every sample dropped: the step trained on nothing, and the run
	// stops rather than exit 0 (run.max_unusable).
	require.ErrorIs(t, err, ErrTooManyUnusable)
	require.ErrorContains(t, err, `plugin "boxed-wasm"`)
	require.ErrorContains(t, err, "most frequent failure: trap")
	for _, l := range readRollouts(t, dir)[1] {
		require.Equal(t, abi.StatusTrap, l.Status)
		require.Equal(t, algo.RoleDropped, l.Role)
		require.Zero(t, l.Advantage)
		require.Nil(t, l.Components)
		require.Nil(t, l.Reward)
	}
	var m struct {
		Update  *engine.UpdateStats       `json:"update"`
		Plugins map[string]map[string]int `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal([]byte(readLines(t, filepath.Join(dir, MetricsFile))[0]), &m))
	require.Nil(t, m.Update, "nothing to train: no update")
	// 16 samples, each tried twice (retry: 1).
	require.Equal(t, map[string]int{"verify:trap": 32}, m.Plugins["boxed-wasm"])

	cfg = e2eConfig(t, "grpo", filepath.Join(t.TempDir(), "fail"), model, train)
	cfg.Plugins["boxed-wasm"] = map[string]any{"wasm": trap, "on_failure": map[string]any{"action": "fail_run"}}
	_, err = Train(context.Background(), Options{Config: cfg})
	require.ErrorIs(t, err, algo.ErrUnusable)
	require.ErrorContains(t, err, `the verifier's on_failure.action is "fail_run"`, "name the config key, not an internal field")
}
