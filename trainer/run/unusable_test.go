package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// unusableFake is a fakeStepper whose steps report the verdicts verdicts
// gives for each step.
type unusableFake struct {
	fakeStepper
	verdicts func(step int) verdictTally
}

func (f *unusableFake) step(ctx context.Context, step int, seed uint64) (stepResult, error) {
	res, err := f.fakeStepper.step(ctx, step, seed)
	res.verdicts = f.verdicts(step)
	if res.verdicts.usable == 0 {
		res.summary = "no usable verdicts"
	}
	return res, err
}

func newUnusableFake(verdicts func(int) verdictTally) newStepper {
	return func(ctx context.Context, cfg Config, runDir, policyDir string) (stepper, error) {
		s, err := newFake(0)(ctx, cfg, runDir, policyDir)
		if err != nil {
			return nil, err
		}
		return &unusableFake{fakeStepper: *s.(*fakeStepper), verdicts: verdicts}, nil
	}
}

func tally(usable int, plugin, status string, unusable int) verdictTally {
	v := verdictTally{usable: usable}
	for range unusable {
		v.addUnusable(plugin, status, `plugin "`+plugin+`" verify: `+status+`: want a number`)
	}
	return v
}

// TestAllUnusableRunStops: a run whose every verifier call fails warns at
// each step (console and metrics.jsonl) and stops with an error naming the
// plugin and its most frequent failure, instead of exiting 0 with
// "trained 2 steps" and "reward 0" (issue 13).
func TestAllUnusableRunStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var log bytes.Buffer
	_, err := train(context.Background(), Options{Config: fakeConfig(dir, 2, 0), Log: slog.New(slog.NewTextHandler(&log, nil))},
		newUnusableFake(func(int) verdictTally { return tally(0, "badjson", "malformed", 8) }))
	require.ErrorIs(t, err, ErrTooManyUnusable)
	require.ErrorContains(t, err, `step 2: plugin "badjson": 16 of the 16 verdicts of the last 2 steps were unusable`)
	require.ErrorContains(t, err, "most frequent failure: malformed (16)")
	require.ErrorContains(t, err, "run.max_unusable")
	lines := readLines(t, filepath.Join(dir, MetricsFile))
	require.Len(t, lines, 2)
	for _, l := range lines {
		require.Contains(t, l, `"warning":"no usable verdicts: all 8 unusable (malformed 8 (plugin \"badjson\")); nothing was trained on"`)
	}
	require.Contains(t, log.String(), "no usable verdicts")
	_, statErr := os.Stat(filepath.Join(dir, "summary.json"))
	require.True(t, errors.Is(statErr, os.ErrNotExist), "a stopped run writes no summary")

	// The stopping step was not checkpointed: a resume redoes it and,
	// the plugin failing still, stops again instead of finding a
	// finished run and exiting 0.
	_, err = train(context.Background(), Options{Resume: dir},
		newUnusableFake(func(int) verdictTally { return tally(0, "badjson", "malformed", 8) }))
	require.ErrorIs(t, err, ErrTooManyUnusable)
}

// TestUnusableShareThreshold: the window's share, not one step, decides;
// 1 never stops a run.
func TestUnusableShareThreshold(t *testing.T) {
	tests := []struct {
		name    string
		max     float64
		window  int
		verdict func(step int) verdictTally
		stopAt  int // 0: the run finishes
	}{
		{"below", 0.5, 3, func(int) verdictTally { return tally(6, "v", "timeout", 2) }, 0},
		{"one bad step in a good window", 0.5, 3, func(s int) verdictTally {
			if s == 3 {
				return tally(0, "v", "crash", 8)
			}
			return tally(8, "", "", 0)
		}, 0},
		{"window turns bad", 0.5, 3, func(s int) verdictTally {
			if s >= 3 {
				return tally(0, "v", "crash", 8)
			}
			return tally(8, "", "", 0)
		}, 5},
		{"never", 1, 3, func(int) verdictTally { return tally(0, "v", "crash", 8) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeConfig(filepath.Join(t.TempDir(), "run"), 6, 0)
			c.Run.MaxUnusable, c.Run.UnusableWindow = tt.max, tt.window
			_, err := train(context.Background(), Options{Config: c}, newUnusableFake(tt.verdict))
			if tt.stopAt == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrTooManyUnusable)
			require.ErrorContains(t, err, "step "+string(rune('0'+tt.stopAt))+":")
			require.ErrorContains(t, err, `plugin "v"`)
		})
	}
}

// gaveUpVerifier fails every call as a process plugin does once the host
// has given up restarting it.
type gaveUpVerifier struct{}

const gaveUpVerifierName = "runtest-gaveup"

func init() {
	host.RegisterBuiltin(abi.KindVerifier, gaveUpVerifierName, func(map[string]any) (any, error) {
		return gaveUpVerifier{}, nil
	})
}

func (gaveUpVerifier) Verify(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
	return abi.Verdict{}, &host.PluginError{Plugin: gaveUpVerifierName, Op: "verify", Status: abi.StatusCrash,
		Err: fmt.Errorf("%w: it died 6 times in a row without answering a call in between", host.ErrFailedForGood)}
}

// TestHostileVerifierStopsTheRun trains a real (nano) model with a
// verifier that never answers valid JSON (host/testdata/hostile/badjson.wasm)
// and with one the host has given up on: neither run may exit 0, the
// errors name the plugin and its failure, and dropped rows store no
// reward (null, not 0).
func TestHostileVerifierStopsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	train := writeFile(t, "train.jsonl", `{"id":"t0","prompt":"ab","answer":"a"}`+"\n"+`{"id":"t1","prompt":"abab","answer":"a"}`+"\n")
	t.Run("malformed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		c := signalConfig(t, "grpo", dir, train, 2)
		c.Reward.Verifier = "bad"
		c.Plugins = map[string]map[string]any{"bad": {"wasm": "../../host/testdata/hostile/badjson.wasm"}}
		_, err := Train(context.Background(), Options{Config: c})
		require.ErrorIs(t, err, ErrTooManyUnusable)
		require.ErrorContains(t, err, `plugin "bad"`)
		require.ErrorContains(t, err, "most frequent failure: malformed")
		for _, l := range readLines(t, filepath.Join(dir, MetricsFile)) {
			require.Contains(t, l, `"usable_verdicts":0`)
			require.Contains(t, l, `"warning":"no usable verdicts`)
		}
		steps := readRollouts(t, dir)
		require.NotEmpty(t, steps)
		for _, lines := range steps {
			for _, l := range lines {
				require.Nil(t, l.Reward, "an unusable verdict has no reward")
			}
		}
		raw, err := os.ReadFile(filepath.Join(dir, RolloutsFile))
		require.NoError(t, err)
		require.Contains(t, string(raw), `"reward":null`)
	})
	t.Run("failed for good", func(t *testing.T) {
		c := signalConfig(t, "grpo", filepath.Join(t.TempDir(), "run"), train, 3)
		c.Reward.Verifier = gaveUpVerifierName
		_, err := Train(context.Background(), Options{Config: c})
		require.ErrorIs(t, err, host.ErrFailedForGood)
		require.ErrorContains(t, err, "step 1:")
		require.ErrorContains(t, err, gaveUpVerifierName)
	})
}
