package run

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// recordingPolicy records the batches it is asked to train on.
type recordingPolicy struct{ batches []engine.Batch }

func (p *recordingPolicy) Tokenizer() tokenizer.Tokenizer { return nil }
func (p *recordingPolicy) Generate(context.Context, []engine.GenRequest) ([]engine.GenResult, error) {
	return nil, fmt.Errorf("not used")
}
func (p *recordingPolicy) LogProbs(context.Context, [][]int) ([][]float32, error) {
	return nil, fmt.Errorf("not used")
}
func (p *recordingPolicy) Update(_ context.Context, b engine.Batch) (engine.UpdateStats, error) {
	p.batches = append(p.batches, b)
	return engine.UpdateStats{Loss: 0.5, GradNorm: 1, LR: 5e-5, Tokens: 10}, nil
}
func (p *recordingPolicy) Save(string) error { return nil }

var _ engine.Policy = (*recordingPolicy)(nil)

// fresh makes a fresh trajectory of 6 tokens in 3 steps.
func fresh(i int, correct bool, status abi.Status) algo.Trajectory {
	r := 0.0
	if correct {
		r = 1
	}
	return algo.Trajectory{
		Origin: algo.OriginFresh, Index: i, Parent: -1,
		Tokens: []int{1, 2, 3, 4, 5, 6}, Steps: []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 4}, {Start: 4, End: 6}},
		Text: "xxxxxx", Reward: r, Correct: correct, Status: status,
		Verdict: abi.Verdict{Score: r, Status: status, Plugin: "boxed", SHA256: "abc"},
	}
}

func reset(i, parent int, correct bool) algo.Trajectory {
	t := fresh(i, correct, abi.StatusOK)
	t.Origin, t.Parent, t.ResetStep, t.PrefixLen = algo.OriginReset, parent, 2, 2
	return t
}

func TestLearn1x4(t *testing.T) {
	cfg, _ := Preset("srpo")
	proc, ac, err := algoSettings(cfg)
	require.NoError(t, err)
	// Fresh: ok ok FAIL ok timeout ok -> parent 2, base {0,1,3,4,5}[:4]
	// = {0,1,3,4}, the timeout is dropped from the base group.
	p := &algo.Prompt{Index: 0, TaskID: "t1", PromptIDs: []int{9, 9}, Trajs: []algo.Trajectory{
		fresh(0, true, abi.StatusOK), fresh(1, true, abi.StatusOK), fresh(2, false, abi.StatusOK),
		fresh(3, false, abi.StatusOK), fresh(4, false, abi.StatusTimeout), fresh(5, true, abi.StatusOK),
		reset(0, 2, true), reset(1, 2, false), reset(2, 2, false), reset(3, 2, false),
	}}
	for i := range p.Trajs {
		if p.Trajs[i].Status.Usable() {
			p.Trajs[i].Rewards = map[string]float64{"verifier": p.Trajs[i].Reward}
		}
	}
	require.NoError(t, algo.Assemble(p, proc, ac))
	pol := &recordingPolicy{}
	got, err := learn(context.Background(), pol, ac, []*algo.Prompt{p}, klPenalty{}, nil, 0)
	require.NoError(t, err)
	require.True(t, got.updated)
	require.Len(t, pol.batches, 1)

	lines := rolloutLines(3, []*algo.Prompt{p})
	var ls []RolloutLine
	for _, l := range lines {
		ls = append(ls, l.(RolloutLine))
	}
	require.NoError(t, checkInvariants(ls, "1x4"))
	require.Equal(t, algo.RoleParent, ls[2].Role)
	require.Equal(t, algo.RoleDropped, ls[4].Role)
	require.Nil(t, ls[4].Components, "an unusable verdict has no reward")
	// Base group {0,1,3} usable with rewards 1,1,0: mean 2/3, std sqrt(2)/3.
	require.InDelta(t, (1-2.0/3)/(math.Sqrt2/3), ls[0].Advantage, 1e-9)
	require.Equal(t, 2, ls[6].MaskStart, "reset trajectories train on the suffix only")
	require.Equal(t, "abc", ls[6].VerifierSHA256)
	// 3 base + 4 reset trajectories trained.
	require.Len(t, pol.batches[0].Seqs, 7)
}

// checkInvariants checks docs/method.md's invariants on one step's rollouts
// (any number of prompts): the parent is not trained on, reset
// trajectories train on their suffix only, groups have the layout's
// sizes, and advantages sum to zero in every trained group.
func checkInvariants(lines []RolloutLine, layout string) error {
	type key struct{ step, prompt, group int }
	groups := map[key][]RolloutLine{}
	byTraj := map[[3]int]RolloutLine{}
	for _, l := range lines {
		byTraj[[3]int{l.Step, l.Prompt, l.Traj}] = l
		if l.Group >= 0 {
			k := key{l.Step, l.Prompt, l.Group}
			groups[k] = append(groups[k], l)
		}
		trained := l.Role == algo.RoleTrain
		if l.Role == algo.RoleParent && (l.MaskEnd != 0 || l.Advantage != 0) {
			return fmt.Errorf("step %d prompt %d traj %d: parent is trained on", l.Step, l.Prompt, l.Traj)
		}
		if !trained && l.MaskEnd != l.MaskStart {
			return fmt.Errorf("step %d prompt %d traj %d: %s trajectory has a loss mask", l.Step, l.Prompt, l.Traj, l.Role)
		}
		if trained && !l.Status.Usable() {
			return fmt.Errorf("step %d prompt %d traj %d: trained with status %s", l.Step, l.Prompt, l.Traj, l.Status)
		}
		if trained && l.Origin == algo.OriginReset && (l.MaskStart != l.PrefixLen || l.MaskEnd != len(l.Tokens)) {
			return fmt.Errorf("step %d prompt %d traj %d: reset mask [%d,%d) is not the suffix [%d,%d)", l.Step, l.Prompt, l.Traj, l.MaskStart, l.MaskEnd, l.PrefixLen, len(l.Tokens))
		}
		if trained && l.Origin == algo.OriginFresh && (l.MaskStart != 0 || l.MaskEnd != len(l.Tokens)) {
			return fmt.Errorf("step %d prompt %d traj %d: fresh mask [%d,%d) is not the whole response", l.Step, l.Prompt, l.Traj, l.MaskStart, l.MaskEnd)
		}
	}
	for _, l := range lines {
		if l.Origin != algo.OriginReset {
			continue
		}
		parent, ok := byTraj[[3]int{l.Step, l.Prompt, l.Parent}]
		if !ok || parent.Role != algo.RoleParent {
			return fmt.Errorf("step %d prompt %d traj %d: continues traj %d, which is not a parent", l.Step, l.Prompt, l.Traj, l.Parent)
		}
		for i := 0; i < l.PrefixLen; i++ {
			if parent.Tokens[i] != l.Tokens[i] {
				return fmt.Errorf("step %d prompt %d traj %d: prefix differs from the parent's tokens at %d", l.Step, l.Prompt, l.Traj, i)
			}
		}
	}
	want := map[algo.Kind]int{algo.KindGRPO: 8, algo.KindBase: 4, algo.KindReset: 4}
	if layout == "1x8" {
		want[algo.KindReset] = 8
	}
	for k, g := range groups {
		kind := g[0].GroupKind
		if len(g) != want[kind] {
			return fmt.Errorf("step %d prompt %d group %d (%s): %d members, want %d", k.step, k.prompt, k.group, kind, len(g), want[kind])
		}
		sum, trained := 0.0, 0
		for _, l := range g {
			if l.Role == algo.RoleTrain {
				sum += l.Advantage
				trained++
			}
		}
		if trained > 0 && math.Abs(sum) > 1e-9 {
			return fmt.Errorf("step %d prompt %d group %d: advantages sum to %g", k.step, k.prompt, k.group, sum)
		}
	}
	return nil
}

func TestComponentMeans(t *testing.T) {
	p := &algo.Prompt{Trajs: []algo.Trajectory{
		{Status: abi.StatusOK, Role: algo.RoleTrain, Rewards: map[string]float64{"verifier": 1, "len": 0.5}},
		{Status: abi.StatusOK, Role: algo.RoleParent, Rewards: map[string]float64{"verifier": 0, "len": 1.5}},
		{Status: abi.StatusOK, Role: algo.RoleSurplus, Rewards: map[string]float64{"verifier": 1, "len": 9}},
		{Status: abi.StatusTimeout, Role: algo.RoleDropped},
	}}
	require.Equal(t, map[string]float64{"verifier": 0.5, "len": 1}, componentMeans([]*algo.Prompt{p}))
}
