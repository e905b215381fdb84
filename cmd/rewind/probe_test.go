package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
)

// TestProbeArgumentErrors: flags keep their values between runRewind
// calls (one root command), so each call sets what the last one changed.
func TestProbeArgumentErrors(t *testing.T) {
	_, _, err := runRewind(t, "probe", "--model", t.TempDir())
	require.ErrorContains(t, err, "give a task FAMILY or --data")
	_, _, err = runRewind(t, "probe", "walk", "--data", "x.jsonl", "--model", t.TempDir())
	require.ErrorContains(t, err, "not both")
	_, _, err = runRewind(t, "probe", "walk", "--data", "", "--n", "2", "--model", t.TempDir())
	require.ErrorContains(t, err, "--model")
}

// TestProbeLocalizers loads --localizer specs as a run loads plugins,
// options included, and refuses the ones it cannot score.
func TestProbeLocalizers(t *testing.T) {
	ctx := context.Background()
	locs, closeLocs, err := probeLocalizers(ctx, []string{"entropy", "entropy:threshold=0.5", "confidence:statistic=min_logprob", "prm:reward_model=procprm,threshold=0.5", "oracle"})
	require.NoError(t, err)
	defer closeLocs()
	require.Len(t, locs, 5)
	h := func(v float64) *float64 { return &v }
	first := 3
	task := abi.Task{ID: "w", Meta: json.RawMessage(`{"family":"walk","start":0,"moves":[3,3,-2]}`)}
	resp := "Step 1: 0+3=3</thought>Step 2: 3+3=6</thought>Step 3: 6-2=\\boxed{3}</thought>"
	req := &abi.LocalizeRequest{Task: task, Response: resp,
		Steps:   tasks.SplitSteps(resp),
		Verdict: &abi.Verdict{Status: abi.StatusOK, FirstError: &first},
		StepStats: []abi.StepStats{
			{Tokens: 4, MeanLogProb: -0.2, MinLogProb: -3, MeanEntropy: h(0.9)},
			{Tokens: 4, MeanLogProb: -0.5, MinLogProb: -0.6, MeanEntropy: h(0.2)},
			{Tokens: 4, MeanLogProb: -0.1, MinLogProb: -0.2, MeanEntropy: h(0.4)}}}
	require.Len(t, req.Steps, 3)
	for i, want := range []struct {
		step     int
		fallback string
	}{{1, ""}, {1, ""}, {1, ""}, {3, ""}, {3, ""}} {
		k, fb, err := locs[i].Localize(ctx, req)
		require.NoError(t, err, locs[i].Name)
		require.Equal(t, want.step, k, locs[i].Name)
		require.Equal(t, want.fallback, fb, locs[i].Name)
	}
	// A Wasm localizer by path: the surprise example answers the step of
	// the least likely token, as confidence with min_logprob does.
	wasm, closeWasm, err := probeLocalizers(ctx, []string{"../../examples/plugins/surprise-go/surprise.wasm", "confidence:statistic=min_logprob"})
	require.NoError(t, err)
	defer closeWasm()
	for _, l := range wasm {
		k, fb, err := l.Localize(ctx, req)
		require.NoError(t, err, l.Name)
		require.Equal(t, 1, k, l.Name)
		require.Empty(t, fb, l.Name)
	}

	// No step above the threshold: the largest entropy, as a fallback.
	locs, closeLocs, err = probeLocalizers(ctx, []string{"entropy:threshold=0.95"})
	require.NoError(t, err)
	defer closeLocs()
	k, fb, err := locs[0].Localize(ctx, req)
	require.NoError(t, err)
	require.Equal(t, 1, k)
	require.Equal(t, "largest-entropy", fb)

	for spec, want := range map[string]string{
		"self":                   "the self localizer needs the policy",
		"nope":                   `"nope"`,
		"entropy:threshold=-1":   "option threshold: must be > 0",
		"entropy:threshold":      "want KEY=VALUE",
		"prm":                    "option reward_model: required",
		"procverify":             "verifier",
		"confidence:statistic=x": "statistic",
	} {
		_, _, err := probeLocalizers(ctx, []string{spec})
		require.ErrorContains(t, err, "--localizer "+spec, spec)
		require.ErrorContains(t, err, want, spec)
	}
}
