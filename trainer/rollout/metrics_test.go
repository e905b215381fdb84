package rollout

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/localize"
)

// mk builds an assembled 1x4 prompt: fresh outcomes and, per parent, the
// reset outcomes, with the reset point k of n steps and the parent's
// first error fe (0 = not reported).
func mk(t *testing.T, fresh, resets string, k, n, fe int, fb string) *PromptResult {
	t.Helper()
	p := &PromptResult{Prompt: algo.Prompt{PromptIDs: []int{1}}}
	parent := -1
	add := func(c rune, o algo.Origin, idx int) {
		tr := algo.Trajectory{Origin: o, Index: idx, Parent: -1, Status: abi.StatusOK, Tokens: []int{1, 2, 3}}
		switch c {
		case 'S':
			tr.Correct, tr.Reward = true, 1
		case 'U':
			tr.Status = abi.StatusTimeout
		}
		if o == algo.OriginReset {
			tr.Parent, tr.ResetStep = parent, k
		}
		p.Trajs = append(p.Trajs, tr)
	}
	for i, c := range fresh {
		add(c, algo.OriginFresh, i)
		if c == 'F' && parent < 0 {
			parent = i
		}
	}
	if resets != "" {
		for i, c := range resets {
			add(c, algo.OriginReset, i)
		}
		rs := Reset{Parent: parent, Steps: n, Step: k, Localization: localize.Result{Step: k, Fallback: fb}}
		if fe > 0 {
			rs.FirstError = &fe
		}
		p.Resets = []Reset{rs}
	}
	proc, err := algo.NewProcedure(algo.Variant1x4)
	require.NoError(t, err)
	require.NoError(t, algo.Assemble(&p.Prompt, proc, algo.DefaultConfig()))
	return p
}

func TestComputeMetrics(t *testing.T) {
	proc, _ := algo.NewProcedure(algo.Variant1x4)
	res := &Result{Procedure: proc, Prompts: []*PromptResult{
		// Base 1,1,0,1; reset at k=2 of 4, first error 3 (clean): 2/4 correct.
		mk(t, "SFSFSS", "SSFF", 2, 4, 3, ""),
		// Base 1,1,1,U; reset at k=4 of 4, first error 2 (erroneous): 1/4.
		mk(t, "SSFSU", "SFFF", 4, 4, 2, localize.FallbackStepMention),
		// No failure in 12: GRPO fallback of 8 correct, 4 extra.
		mk(t, "SSSSSSSSSSSS", "", 0, 0, 0, ""),
		// Reset at k=1 of 2 after "no error"; first error not reported.
		mk(t, "FSSSS", "UFFS", 1, 2, 0, localize.FallbackNoError),
	}, Tokens: Tokens{Fresh: 10}}
	m := ComputeMetrics(res)
	require.Equal(t, 4, m.Prompts)
	// Base: 3 groups, usable 4+3+4 = 11, correct 3+3+4 = 10.
	require.Equal(t, GroupStats{Groups: 3, Trajectories: 11, Reward: 10.0 / 11, Accuracy: 10.0 / 11, Trained: 11}, m.Groups[algo.KindBase])
	// Reset: usable 4+4+3 = 11, correct 2+1+1 = 4.
	require.Equal(t, GroupStats{Groups: 3, Trajectories: 11, Reward: 4.0 / 11, Accuracy: 4.0 / 11, Trained: 11}, m.Groups[algo.KindReset])
	require.Equal(t, GroupStats{Groups: 1, Trajectories: 8, Reward: 1, Accuracy: 1, Trained: 8}, m.Groups[algo.KindGRPO])
	require.InDelta(t, 4.0/11, m.CorrectionRate, 1e-12)
	require.Equal(t, 3, m.Resets)
	require.InDelta(t, (2.0+4+1)/3, m.ResetStep, 1e-12)
	require.InDelta(t, (0.5+1+0.5)/3, m.ResetRelPos, 1e-12)
	require.InDelta(t, 0.25, m.NoFailureRate, 1e-12)
	require.Equal(t, 2, m.ParseFailures)
	require.Equal(t, map[string]int{localize.FallbackStepMention: 1, localize.FallbackNoError: 1}, m.Fallbacks)
	// Fresh up to each stop: prompt 1: 5 usable (S F S F S; 6th is
	// surplus), 3 correct; prompt 2: 4 usable of 5, 3 correct; prompt 3:
	// 12, 12; prompt 4: 5, 4.
	require.Equal(t, 26, m.Fresh.Trajectories)
	require.InDelta(t, 22.0/26, m.Fresh.Accuracy, 1e-12)
	require.Equal(t, 2, m.Statuses[abi.StatusTimeout])
	require.Equal(t, 1, m.Roles[algo.RoleSurplus])
	require.Equal(t, 4, m.Roles[algo.RoleExtra])
	require.Equal(t, &LocalizerStats{
		Evaluated: 2, Precision: 0.5, Recall: 0,
		CleanCorrection: 0.5, CleanN: 4, ErroneousCorrection: 0.25, ErroneousN: 4,
	}, m.Localizer)
	require.Equal(t, 10, m.Tokens.Fresh)

	// Exactly at the first error counts for precision and recall.
	m = ComputeMetrics(&Result{Procedure: proc, Prompts: []*PromptResult{mk(t, "FSSSS", "SSSF", 3, 5, 3, "")}})
	require.Equal(t, 1.0, m.Localizer.Precision)
	require.Equal(t, 1.0, m.Localizer.Recall)
	require.Equal(t, 0.75, m.Localizer.CleanCorrection)

	// Plain GRPO has no resets and no fallback rate.
	grpo, _ := algo.NewProcedure(algo.VariantGRPO)
	m = ComputeMetrics(&Result{Procedure: grpo})
	require.Zero(t, m.NoFailureRate)
	require.Nil(t, m.Localizer)
}
