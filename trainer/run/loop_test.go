package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeStepper stands in for the trainer: its "policy" is a weight vector
// that every step changes as a function of the step's seed and the data
// cursor, so any divergence after a resume shows in the metrics.
type fakeStepper struct {
	steps   int
	weights []float64
	cursor  int
	delay   time.Duration
}

func newFake(delay time.Duration) newStepper {
	return func(_ context.Context, cfg Config, _, policyDir string) (stepper, error) {
		f := &fakeStepper{steps: cfg.Run.Steps, weights: make([]float64, 4), delay: delay}
		if policyDir != "" {
			raw, err := os.ReadFile(filepath.Join(policyDir, "weights.json"))
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(raw, &f.weights); err != nil {
				return nil, err
			}
		}
		return f, nil
	}
}

func (f *fakeStepper) totalSteps() int { return f.steps }

func (f *fakeStepper) step(_ context.Context, step int, seed uint64) (stepResult, error) {
	time.Sleep(f.delay)
	r := rand.New(rand.NewPCG(seed, uint64(f.cursor)))
	loss := 0.0
	for i := range f.weights {
		f.weights[i] += r.NormFloat64() * 0.1
		loss += f.weights[i] * f.weights[i]
	}
	f.cursor += 3
	rollouts := []any{
		map[string]any{"step": step + 1, "traj": 0, "reward": r.Float64()},
		map[string]any{"step": step + 1, "traj": 1, "reward": r.Float64()},
	}
	return stepResult{
		metrics:  map[string]any{"loss": loss, "cursor": f.cursor},
		wall:     map[string]float64{"fresh_sec": 0.001},
		rollouts: rollouts,
		summary:  fmt.Sprintf("loss %.3f", loss),
		tokens:   100 + step,
	}, nil
}

func (f *fakeStepper) evaluate(_ context.Context, done int) (any, error) {
	return map[string]any{"after": done, "w0": f.weights[0]}, nil
}

func (f *fakeStepper) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, _ := json.Marshal(f.weights)
	return os.WriteFile(filepath.Join(dir, "weights.json"), raw, 0o644)
}

func (f *fakeStepper) dataState() (json.RawMessage, error) {
	return json.Marshal(map[string]int{"pos": f.cursor})
}

func (f *fakeStepper) restoreData(raw json.RawMessage) error {
	var s map[string]int
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	f.cursor = s["pos"]
	return nil
}

func (f *fakeStepper) close() error { return nil }

func fakeConfig(dir string, steps, every int) Config {
	c, _ := Preset("srpo")
	c.Model.Path = "unused"
	c.Run.Dir = dir
	c.Run.Steps = steps
	c.Run.CheckpointEvery = every
	c.Run.KeepCheckpoints = 2
	c.Run.Log = "none"
	return c
}

func TestTrainWritesRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	sum, err := train(context.Background(), Options{Config: fakeConfig(dir, 7, 3)}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 7, sum.Steps)
	require.Equal(t, filepath.Join(dir, "checkpoints", "step-00000007"), sum.Checkpoint)

	lines := readLines(t, filepath.Join(dir, MetricsFile))
	require.Len(t, lines, 7)
	require.Regexp(t, `^\{"step":1,"cursor":3,"loss":[0-9.e-]+,"time":\{"fresh_sec":0.001,"step_sec":[0-9.e-]+\}\}$`, lines[0])
	require.Len(t, readLines(t, filepath.Join(dir, RolloutsFile)), 14)

	// keep_checkpoints 2: steps 6 and 7 remain (3 was pruned).
	all, err := checkpoints(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"step-00000006", "step-00000007"}, []string{filepath.Base(all[0]), filepath.Base(all[1])})

	cfg, err := Load(Sources{File: filepath.Join(dir, ConfigFile)})
	require.NoError(t, err)
	require.Equal(t, fakeConfig(dir, 7, 3), cfg)

	var s Summary
	raw, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &s))
	require.Equal(t, 7, s.Steps)
	var last map[string]any
	require.NoError(t, json.Unmarshal(s.Last, &last))
	require.Equal(t, 7.0, last["step"])

	// A second run into the same directory is refused.
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 7, 3)}, newFake(0))
	require.ErrorContains(t, err, "already holds a run: resume it with `rewind train --resume")
}

func TestResumeTruncatesLogs(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "ref")
	_, err := train(context.Background(), Options{Config: fakeConfig(ref, 9, 4)}, newFake(0))
	require.NoError(t, err)

	// Stop a run after 6 steps (checkpoint at 4), as a crash would.
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	cfg := fakeConfig(dir, 9, 4)
	build := func(ctx2 context.Context, c Config, d, p string) (stepper, error) {
		s, err := newFake(0)(ctx2, c, d, p)
		return &cancelAfter{stepper: s, n: 6, cancel: cancel}, err
	}
	_, err = train(ctx, Options{Config: cfg}, build)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, readLines(t, filepath.Join(dir, MetricsFile)), 6)

	sum, err := train(context.Background(), Options{Resume: dir}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 4, sum.ResumedFrom)
	requireSameRun(t, ref, dir)
}

// cancelAfter cancels the run's context after n steps.
type cancelAfter struct {
	stepper
	n      int
	done   int
	cancel func()
}

func (c *cancelAfter) step(ctx context.Context, step int, seed uint64) (stepResult, error) {
	r, err := c.stepper.step(ctx, step, seed)
	c.done++
	if c.done == c.n {
		c.cancel()
	}
	return r, err
}

// TestTokenBudget checks run.max_generated_tokens: the fake generates
// 100+i tokens at step i (0-based), so after k steps the run has
// generated 100k + k(k-1)/2 tokens: 936 after 9, 1045 after 10. With a
// budget of 1000 the run ends after step 10, checkpoints there, evaluates
// there (and every 3 steps), and a run killed before the end and resumed
// ends at the same step with the same logs.
func TestTokenBudget(t *testing.T) {
	cfgOf := func(dir string) Config {
		c := fakeConfig(dir, 50, 4)
		c.Run.MaxGeneratedTokens = 1000
		c.Run.EvalEvery = 3
		c.Data.Eval = "unused"
		return c
	}
	ref := filepath.Join(t.TempDir(), "ref")
	sum, err := train(context.Background(), Options{Config: cfgOf(ref)}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 10, sum.Steps)
	require.Equal(t, 1045, sum.GeneratedTokens)
	require.Equal(t, "max_generated_tokens", sum.StoppedBy)
	require.Equal(t, filepath.Join(ref, "checkpoints", "step-00000010"), sum.Checkpoint)
	_, st, err := latestCheckpoint(ref, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, 1045, st.GeneratedTokens)

	lines := readLines(t, filepath.Join(ref, MetricsFile))
	require.Len(t, lines, 10)
	var evals []int
	for _, l := range lines {
		var m struct {
			Step int
			Eval *struct{ After int }
		}
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m.Eval != nil {
			require.Equal(t, m.Step, m.Eval.After)
			evals = append(evals, m.Step)
		}
	}
	require.Equal(t, []int{3, 6, 9, 10}, evals)

	// Killed after 6 steps (checkpoint at 4, 706 tokens), resumed: the
	// budget is counted from the checkpoint on.
	dir := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	build := func(ctx2 context.Context, c Config, d, p string) (stepper, error) {
		s, err := newFake(0)(ctx2, c, d, p)
		return &cancelAfter{stepper: s, n: 6, cancel: cancel}, err
	}
	_, err = train(ctx, Options{Config: cfgOf(dir)}, build)
	require.ErrorIs(t, err, context.Canceled)
	sum, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 4, sum.ResumedFrom)
	require.Equal(t, 10, sum.Steps)
	require.Equal(t, 1045, sum.GeneratedTokens)
	requireSameRun(t, ref, dir)

	// A spent run resumed takes no step.
	sum, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 10, sum.Steps)
	require.Len(t, readLines(t, filepath.Join(dir, MetricsFile)), 10)

	// Without a budget run.steps decides.
	c := cfgOf(filepath.Join(t.TempDir(), "nobudget"))
	c.Run.MaxGeneratedTokens, c.Run.Steps = 0, 12
	sum, err = train(context.Background(), Options{Config: c}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 12, sum.Steps)
	require.Equal(t, "steps", sum.StoppedBy)
	require.Equal(t, 1200+66, sum.GeneratedTokens)
}

func TestResumeErrors(t *testing.T) {
	_, err := train(context.Background(), Options{Resume: t.TempDir()}, newFake(0))
	require.ErrorContains(t, err, "is not a run directory")

	dir := filepath.Join(t.TempDir(), "run")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 4, 2)}, newFake(0))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte("preset: grpo\nmodel: {path: m}\n"), 0o644))
	_, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.ErrorContains(t, err, "was changed after the checkpoint was written")
}

func TestCheckpointAtomic(t *testing.T) {
	dir := t.TempDir()
	// A save that fails leaves no checkpoint and no temporary directory.
	_, err := writeCheckpoint(dir, State{Step: 3}, func(string) error { return fmt.Errorf("disk full") })
	require.ErrorContains(t, err, "checkpoint at step 3: save policy: disk full")
	entries, _ := os.ReadDir(filepath.Join(dir, checkpointsDir))
	require.Empty(t, entries)

	// A leftover temporary directory (a kill mid-write) is ignored by
	// latestCheckpoint and removed by removeTemp.
	_, err = writeCheckpoint(dir, State{Step: 2}, func(d string) error { return os.MkdirAll(d, 0o755) })
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, checkpointsDir, ".tmp-step-00000004", "policy"), 0o755))
	path, st, err := latestCheckpoint(dir, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, 2, st.Step)
	require.Equal(t, "step-00000002", filepath.Base(path))
	require.NoError(t, removeTemp(dir))
	_, err = os.Stat(filepath.Join(dir, checkpointsDir, ".tmp-step-00000004"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestMetricsLine(t *testing.T) {
	body, line, err := metricsLine(3, struct {
		A int `json:"a"`
	}{5}, map[string]float64{"x_sec": 1.5})
	require.NoError(t, err)
	require.Equal(t, `{"step":3,"a":5}`, string(body))
	require.Equal(t, `{"step":3,"a":5,"time":{"x_sec":1.5}}`+"\n", string(line))
	_, _, err = metricsLine(3, []int{1}, nil)
	require.ErrorContains(t, err, "JSON object")
}

// The kill test: a run killed with SIGKILL at arbitrary moments and
// resumed each time ends with the same metrics (apart from "time") and
// rollouts as an uninterrupted run. The child is this test binary,
// re-executed with RWTEST_CHILD set.
func TestMain(m *testing.M) {
	if raw := os.Getenv("RWTEST_E2E_CHILD"); raw != "" {
		// A real run (see TestKillAndResumeEndToEnd): a config to start,
		// or a directory to resume.
		var opts Options
		if strings.HasPrefix(raw, "{") {
			if err := json.Unmarshal([]byte(raw), &opts.Config); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		} else {
			opts.Resume = raw
		}
		if _, err := Train(context.Background(), opts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	if dir := os.Getenv("RWTEST_CHILD"); dir != "" {
		opts := Options{Resume: dir}
		if os.Getenv("RWTEST_NEW") != "" {
			opts = Options{Config: fakeConfig(dir, 30, 4)}
		}
		delay := 3 * time.Millisecond
		if ms, err := strconv.Atoi(os.Getenv("RWTEST_DELAY_MS")); err == nil {
			delay = time.Duration(ms) * time.Millisecond
		}
		if _, err := train(context.Background(), opts, newFake(delay)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ref := filepath.Join(t.TempDir(), "ref")
	_, err := train(context.Background(), Options{Config: fakeConfig(ref, 30, 4)}, newFake(0))
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "run")
	// RWTEST_KILL_SEED varies the kill times for stress runs:
	//   for s in $(seq 100); do RWTEST_KILL_SEED=$s go test -run 'TestKillAndResume$' ./trainer/run || break; done
	killSeed := uint64(42)
	if s, err := strconv.ParseUint(os.Getenv("RWTEST_KILL_SEED"), 10, 64); err == nil {
		killSeed = s
	}
	r := rand.New(rand.NewPCG(killSeed, 0))
	kills := 0
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 40, "the run never finished")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "RWTEST_CHILD="+dir)
		if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil {
			cmd.Env = append(cmd.Env, "RWTEST_NEW=1")
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var err error
		if kills < 6 {
			select {
			case err = <-exited:
			case <-time.After(time.Duration(5+r.IntN(60)) * time.Millisecond):
				if kerr := cmd.Process.Kill(); kerr == nil { // SIGKILL
					<-exited
					kills++
					requireWholeCheckpoints(t, dir)
					continue
				} else if !errors.Is(kerr, os.ErrProcessDone) {
					t.Fatal(kerr)
				}
				err = <-exited // it finished just before the kill
			}
		} else {
			err = <-exited
		}
		require.NoError(t, err, stderr.String())
		break
	}
	// Later attempts have less left to do and may finish before their
	// kill time; the seeds used here kill at least three times.
	require.GreaterOrEqual(t, kills, 3)
	t.Logf("killed %d times", kills)
	requireSameRun(t, ref, dir)
}

// requireWholeCheckpoints checks that every published checkpoint is whole.
func requireWholeCheckpoints(t *testing.T, dir string) {
	t.Helper()
	all, err := checkpoints(dir)
	require.NoError(t, err)
	for _, c := range all {
		raw, err := os.ReadFile(filepath.Join(c, stateFile))
		require.NoError(t, err, c)
		var st State
		require.NoError(t, json.Unmarshal(raw, &st), c)
		w, err := os.ReadFile(filepath.Join(c, policySubdir, "weights.json"))
		require.NoError(t, err, c)
		require.True(t, json.Valid(w), c)
	}
}

var timeField = regexp.MustCompile(`,"time":\{[^}]*\}\}$`)

// requireSameRun compares two run directories' logs, ignoring wall-clock
// fields.
func requireSameRun(t *testing.T, want, got string) {
	t.Helper()
	wm, gm := readLines(t, filepath.Join(want, MetricsFile)), readLines(t, filepath.Join(got, MetricsFile))
	require.Equal(t, len(wm), len(gm))
	for i := range wm {
		require.Regexp(t, timeField, gm[i])
		require.Equal(t, timeField.ReplaceAllString(wm[i], "}"), timeField.ReplaceAllString(gm[i], "}"), "metrics line %d", i+1)
	}
	wr, err := os.ReadFile(filepath.Join(want, RolloutsFile))
	require.NoError(t, err)
	gr, err := os.ReadFile(filepath.Join(got, RolloutsFile))
	require.NoError(t, err)
	require.True(t, bytes.Equal(wr, gr), "rollouts.jsonl differ")
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

func TestResolvePolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	_, err := train(context.Background(), Options{Config: fakeConfig(dir, 4, 2)}, newFake(0))
	require.NoError(t, err)
	ckpt := filepath.Join(dir, "checkpoints", "step-00000004")
	for _, tt := range []struct{ in, want string }{
		{dir, filepath.Join(ckpt, "policy")},
		{ckpt, filepath.Join(ckpt, "policy")},
		{filepath.Join(ckpt, "policy"), filepath.Join(ckpt, "policy")},
		{"/models/base", "/models/base"},
	} {
		got, err := ResolvePolicy(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.in)
	}
}

var _ stepper = (*fakeStepper)(nil)
