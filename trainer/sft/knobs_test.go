package sft

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// TestExamplesMixedDifficulties: with a minimum difficulty the examples
// cycle through the difficulties, each using that difficulty's tasks in
// order; without one they are Examples.
func TestExamplesMixedDifficulties(t *testing.T) {
	const n = 31
	exs, err := examples("walk", n, 4, 1, 3, 0.1, 0.3, data.TemplatePlain)
	require.NoError(t, err)
	require.Len(t, exs, n)
	byD := map[int][]abi.Task{}
	for d := 1; d <= 3; d++ {
		byD[d], err = tasks.Generate("walk", n, 4, d)
		require.NoError(t, err)
	}
	for i, ex := range exs {
		d := 1 + i%3
		want := byD[d][i/3]
		require.Equal(t, want.ID, ex.TaskID, "example %d", i)
		if ex.Kind == KindSolve {
			require.Equal(t, want.Prompt, ex.Prompt)
			// A walk at difficulty d has d+2 moves, one per step.
			require.Len(t, tasks.SplitSteps(ex.Completion), d+2)
		}
	}
	single, err := examples("walk", n, 4, 3, 3, 0.1, 0.3, data.TemplatePlain)
	require.NoError(t, err)
	plain, err := Examples("walk", n, 4, 3, 0.1, 0.3)
	require.NoError(t, err)
	require.Equal(t, plain, single)
	_, err = examples("walk", n, 4, 4, 3, 0.1, 0.3, data.TemplatePlain)
	require.ErrorContains(t, err, "minimum difficulty 4")
}

// learner is a policy that solves every task greedily once it has taken
// `after` optimiser steps, and writes nothing before.
type learner struct {
	tok     tokenizer.Tokenizer
	byText  map[string]abi.Task
	updates int
	after   int
	saved   map[string]int // updates at the last Save into each folder
}

func (p *learner) Tokenizer() tokenizer.Tokenizer { return p.tok }

func (p *learner) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	out := make([]engine.GenResult, len(reqs))
	for i, r := range reqs {
		text := ""
		if p.updates >= p.after {
			t, ok := p.byText[p.tok.Decode(r.Prompt)]
			if !ok {
				return nil, io.ErrUnexpectedEOF
			}
			var err error
			if text, err = tasks.Solution(t); err != nil {
				return nil, err
			}
		}
		ids := append(p.tok.Encode(text), p.tok.EOS())
		out[i] = engine.GenResult{Tokens: ids, Text: p.tok.Decode(ids)}
	}
	return out, nil
}

func (p *learner) LogProbs(context.Context, [][]int) ([][]float32, error) { return nil, nil }
func (p *learner) Update(context.Context, engine.Batch) (engine.UpdateStats, error) {
	p.updates++
	return engine.UpdateStats{Loss: 1}, nil
}
func (p *learner) Save(dir string) error {
	if p.saved == nil {
		p.saved = map[string]int{}
	}
	p.saved[dir] = p.updates
	return nil
}

// open reopens what Save wrote into dir.
func (p *learner) open(dir string) (engine.Policy, error) {
	n, ok := p.saved[dir]
	if !ok {
		return nil, os.ErrNotExist
	}
	return &learner{tok: p.tok, byText: p.byText, updates: n, after: p.after}, nil
}

// TestStopAtAccuracy: stage 1 checks validation pass@1 every stop.every
// steps and stops at the first check that reaches the target, keeping the
// check before when it was closer to the target; the validation prompts
// are kept out of the held-out evaluation.
func TestStopAtAccuracy(t *testing.T) {
	tok, err := tokenizer.NewChar(Alphabet, Specials)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Family, cfg.Difficulty, cfg.Steps, cfg.Batch, cfg.LogEvery = "walk", 2, 100, 2, 10
	cfg.Out = t.TempDir()
	val, err := tasks.Generate("walk", 200, cfg.Seed+2_000_003, cfg.Difficulty)
	require.NoError(t, err)
	byText := map[string]abi.Task{}
	for _, t := range val {
		byText[cfg.Template.Render(t.Prompt)] = t
	}
	seq := engine.Sequence{Tokens: []int{1, 2}, Weights: []float32{0, 1}}
	run := func(target float64) (*learner, Report, *trainLoop, map[string]bool) {
		cfg.Stop = StopConfig{Accuracy: target, Every: 10, Tasks: 20}
		pol := &learner{tok: tok, byText: byText, after: 25}
		var rep Report
		tr := &trainLoop{pol: pol, cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), rep: &rep}
		seen := map[string]bool{}
		require.NoError(t, stageOne(context.Background(), tr, func() engine.Sequence { return seq }, seen, pol.open))
		return pol, rep, tr, seen
	}

	// The learner jumps from 0 to 1 at its 25th update: a target of 0.5
	// is reached at the check of step 30, and 1 is no farther from it
	// than 0 was, so the check of step 30 stays.
	pol, rep, tr, seen := run(0.5)
	require.Equal(t, 30, rep.StoppedAt, "the first check after 25 updates")
	require.Equal(t, []StopCheck{{10, 0}, {20, 0}, {30, 1}}, rep.StopChecks)
	require.Equal(t, 30, pol.updates)
	require.Same(t, pol, tr.pol)
	require.Len(t, seen, 20)
	for p := range seen {
		require.True(t, strings.HasPrefix(p, "Walk from "))
	}
	require.NoDirExists(t, filepath.Join(cfg.Out, "stop-previous"))

	// A target of 0.3 is overshot: 0 at step 20 was closer to it than 1
	// at step 30, so the weights of step 20 are reopened.
	_, rep, tr, _ = run(0.3)
	require.Equal(t, 20, rep.StoppedAt)
	require.Equal(t, 20, tr.pol.(*learner).updates)

	// Off: every step runs and nothing is checked.
	pol, rep, _, _ = run(0)
	require.Equal(t, 100, pol.updates)
	require.Zero(t, rep.StoppedAt)
	require.Empty(t, rep.StopChecks)
}

func TestConfigValidateKnobs(t *testing.T) {
	c := DefaultConfig()
	c.Family, c.Out, c.Difficulty = "walk", "x", 3
	c.MinDifficulty = 4
	c.Stop.Accuracy = 1.5
	err := c.Validate()
	require.ErrorContains(t, err, `field "min_difficulty"`)
	require.ErrorContains(t, err, `field "stop.accuracy"`)
	c.MinDifficulty, c.Stop = 1, StopConfig{Accuracy: 0.3}
	c.Self.Steps, c.Self.Tasks = 10, 2001 // above the 2000 difficulty-3 tasks of 6000 examples over 3 difficulties
	err = c.Validate()
	require.ErrorContains(t, err, `field "stop"`)
	require.ErrorContains(t, err, `field "self.tasks"`)
	c.Stop, c.Self.Tasks = StopConfig{Accuracy: 0.3, Every: 5, Tasks: 10}, 2000
	require.NoError(t, c.Validate())
}

// TestTrainingExamples: the config's examples are those Train uses, with
// its difficulties mixed from min_difficulty.
func TestTrainingExamples(t *testing.T) {
	c := DefaultConfig()
	c.Family, c.Difficulty, c.Examples = "walk", 3, 12
	got, err := c.TrainingExamples()
	require.NoError(t, err)
	want, err := Examples("walk", 12, c.Seed, 3, c.ErrorRate, c.LocFraction)
	require.NoError(t, err)
	require.Equal(t, want, got)
	c.MinDifficulty = 2
	got, err = c.TrainingExamples()
	require.NoError(t, err)
	mixed, err := examples("walk", 12, c.Seed, 2, 3, c.ErrorRate, c.LocFraction, data.TemplatePlain)
	require.NoError(t, err)
	require.Equal(t, mixed, got)
}
