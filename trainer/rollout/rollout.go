// Package rollout samples, grades and groups the trajectories of one
// training step in batched phases (see docs/algo.md, "Rollout"):
//
//  1. fresh rounds for every prompt of the batch at once, more rounds only
//     for prompts whose fresh phase has not stopped;
//  2. one batched localization call for all parents;
//  3. one batched generation of every reset continuation from token-id
//     prefixes (prompt ids + the parent's tokens of steps 1..k-1, never
//     re-tokenised);
//
// while a bounded pool of workers segments and verifies each trajectory as
// soon as it is generated. Every trajectory's seed is a pure function of
// (run seed, step, prompt index, fresh index) (or parent ordinal and reset
// index), so the phased rollout selects exactly the parent and groups that
// the sequential procedure of docs/method.md selects for the same samples.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Task is one prompt of a batch.
type Task struct {
	Task abi.Task
	// PromptIDs are the chat-formatted prompt's token ids (non-empty).
	PromptIDs []int
}

// Options are a Runner's collaborators.
type Options struct {
	// Policy samples trajectories (an engine.Policy).
	Policy localize.Generator
	// Verifier grades every trajectory.
	Verifier host.Verifier
	// RewardModels are added to the verifier's score, weighted.
	RewardModels []RewardModel
	// Segmenter splits whole responses into steps; required in ModeWhole.
	Segmenter host.Segmenter
	// Localizer picks reset steps; required when the procedure has
	// parents.
	Localizer localize.Localizer
	// Now is the clock for phase timings; nil means time.Now.
	Now func() time.Time
}

// Runner runs the rollout of one step at a time. It is not safe for
// concurrent use.
type Runner struct {
	cfg          Config
	policy       localize.Generator
	tok          tokenizer.Tokenizer
	verifier     host.Verifier
	rewardModels []RewardModel
	segmenter    host.Segmenter
	localizer    localize.Localizer
	now          func() time.Time
}

// New checks cfg and opts and returns a Runner.
func New(cfg Config, opts Options) (*Runner, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if opts.Policy == nil {
		errs = append(errs, errors.New("rollout: no policy"))
	}
	if opts.Verifier == nil {
		errs = append(errs, errors.New("rollout: no verifier; configure one under plugins"))
	}
	if cfg.Mode == ModeWhole && opts.Segmenter == nil {
		errs = append(errs, fmt.Errorf("rollout: mode %q needs a segmenter plugin", ModeWhole))
	}
	if cfg.Procedure.Parents > 0 && opts.Localizer == nil {
		errs = append(errs, fmt.Errorf("rollout: the procedure resets from %d parent(s) and needs a localizer (self, random, oracle, ...)", cfg.Procedure.Parents))
	}
	for _, rm := range opts.RewardModels {
		if rm.Model == nil {
			errs = append(errs, fmt.Errorf("rollout: reward model %q is nil", rm.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := &Runner{
		cfg: cfg, policy: opts.Policy, tok: opts.Policy.Tokenizer(), verifier: opts.Verifier,
		rewardModels: opts.RewardModels, segmenter: opts.Segmenter, localizer: opts.Localizer, now: opts.Now,
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Reset records the localization of one parent.
type Reset struct {
	// Parent is the parent's index in Prompt.Trajs; Ordinal its rank
	// among the prompt's parents.
	Parent  int `json:"parent"`
	Ordinal int `json:"ordinal"`
	// Steps is n, the parent's step count; Step the chosen k in 1..n (1
	// when n = 0).
	Steps int `json:"steps"`
	Step  int `json:"step"`
	// PrefixLen is the number of response tokens copied from the parent.
	PrefixLen int `json:"prefix_len"`
	// FirstError is the verifier's first wrong step of the parent, when
	// reported.
	FirstError   *int            `json:"first_error,omitempty"`
	Localization localize.Result `json:"localization"`
}

// PromptResult is one prompt's rollout.
type PromptResult struct {
	algo.Prompt
	Resets []Reset `json:"resets,omitempty"`
}

// Tokens counts generated tokens by phase.
type Tokens struct {
	Fresh    int `json:"fresh"`    // fresh trajectories other than parents (extra and surplus included)
	Parent   int `json:"parent"`   // parents
	Localize int `json:"localize"` // self-localization
	Reset    int `json:"reset"`    // reset suffixes (copied prefixes excluded)
}

// Times are wall-clock durations by phase. Verify is the summed time of
// the grading workers, which overlaps the other phases.
type Times struct {
	Fresh    time.Duration `json:"fresh_ns"`
	Localize time.Duration `json:"localize_ns"`
	Reset    time.Duration `json:"reset_ns"`
	Verify   time.Duration `json:"verify_ns"`
	Total    time.Duration `json:"total_ns"`
}

// Result is one step's rollout: every prompt with its assembled groups.
type Result struct {
	Step int `json:"step"`
	// Procedure is the group layout the prompts were assembled with.
	Procedure algo.Procedure  `json:"procedure"`
	Prompts   []*PromptResult `json:"prompts"`
	Rounds    int             `json:"rounds"` // fresh rounds run
	Tokens    Tokens          `json:"tokens"`
	Time      Times           `json:"time"`
}

// AlgoPrompts returns the prompts for algo.BuildBatch.
func (res *Result) AlgoPrompts() []*algo.Prompt {
	out := make([]*algo.Prompt, len(res.Prompts))
	for i, p := range res.Prompts {
		out[i] = &p.Prompt
	}
	return out
}

// Run samples, grades and assembles the trajectories of one step for
// tasks. The samples depend only on (seed, step, prompt index) and the
// policy. On error the partial result is discarded.
func (r *Runner) Run(ctx context.Context, seed uint64, step int, tasks []Task) (*Result, error) {
	for i, t := range tasks {
		if len(t.PromptIDs) == 0 {
			return nil, fmt.Errorf("rollout: task %d (%q) has no prompt ids", i, t.Task.ID)
		}
	}
	t0 := r.now()
	res := &Result{Step: step, Procedure: r.cfg.Procedure, Prompts: make([]*PromptResult, len(tasks))}
	for i, t := range tasks {
		res.Prompts[i] = &PromptResult{Prompt: algo.Prompt{Index: i, TaskID: t.Task.ID, PromptIDs: t.PromptIDs}}
	}
	pl := newPool(r.cfg.VerifyConcurrency, r.now)
	defer pl.wait()

	freshTokens, err := r.freshPhase(ctx, seed, step, tasks, res, pl)
	if err != nil {
		return nil, err
	}
	t1 := r.now()
	res.Time.Fresh = t1.Sub(t0)

	var resets []resetRef
	if r.cfg.Procedure.Parents > 0 {
		resets, err = r.localizePhase(ctx, seed, step, tasks, res)
		if err != nil {
			return nil, err
		}
	}
	t2 := r.now()
	res.Time.Localize = t2.Sub(t1)

	if len(resets) > 0 {
		if res.Tokens.Reset, err = r.resetPhase(ctx, seed, step, tasks, res, resets, pl); err != nil {
			return nil, err
		}
	}
	t3 := r.now()
	res.Time.Reset = t3.Sub(t2)

	for _, p := range res.Prompts {
		if err := algo.Assemble(&p.Prompt, r.cfg.Procedure, r.cfg.Algo); err != nil {
			return nil, fmt.Errorf("rollout: %w", err)
		}
		for i := range p.Trajs {
			if p.Trajs[i].Role == algo.RoleParent {
				res.Tokens.Parent += len(p.Trajs[i].Tokens)
			}
		}
	}
	res.Tokens.Fresh = freshTokens - res.Tokens.Parent
	res.Time.Verify = pl.busy
	res.Time.Total = r.now().Sub(t0)
	return res, nil
}

// freshPhase runs fresh rounds until every prompt's procedure has
// stopped, and marks the surplus of the last round.
func (r *Runner) freshPhase(ctx context.Context, seed uint64, step int, tasks []Task, res *Result, pl *pool) (int, error) {
	proc := r.cfg.Procedure
	generated := 0
	for round := 0; ; round++ {
		var jobs []*job
		for i, p := range res.Prompts {
			seq := algo.FreshOutcomes(&p.Prompt)
			need := proc.Need(seq)
			if need == 0 {
				continue
			}
			size := proc.MaxFresh - len(seq)
			if round < len(r.cfg.Rounds) {
				size = min(max(need, r.cfg.Rounds[round]), size)
			}
			for f := len(seq); f < len(seq)+size; f++ {
				s := Seed(seed, step, i, streamFresh, f, 0)
				p.Trajs = append(p.Trajs, algo.Trajectory{Origin: algo.OriginFresh, Index: f, Parent: -1, Seed: s})
				jobs = append(jobs, r.newJob(ctx, pl, &tasks[i], p, len(p.Trajs)-1, nil, s))
			}
		}
		if len(jobs) == 0 {
			res.Rounds = round
			return generated, nil
		}
		n, err := r.generate(ctx, jobs)
		generated += n
		pl.wait()
		if err != nil {
			return generated, err
		}
		if err := ctx.Err(); err != nil {
			return generated, fmt.Errorf("rollout: %w", err)
		}
	}
}

// newJob returns the job that generates p.Trajs[ti] and, when done,
// grades it on the pool. The trajectory is looked up when the job ends:
// p.Trajs is not appended to while jobs run.
func (r *Runner) newJob(ctx context.Context, pl *pool, task *Task, p *PromptResult, ti int, from *job, seed uint64) *job {
	j := &job{prompt: task.PromptIDs, seed: seed}
	if from != nil {
		// Copies: the jobs of one reset group grow the same prefix.
		j.tokens = append([]int(nil), from.tokens...)
		j.logps = append([]float32(nil), from.logps...)
		j.ents = append([]float32(nil), from.ents...)
		j.steps = append([]algo.Span(nil), from.steps...)
		j.prefix = from.prefix
	}
	j.done = func(j *job) {
		pl.submit(func() { r.complete(ctx, &task.Task, &p.Trajs[ti], j) })
	}
	return j
}

// complete fills a trajectory from its finished job: tokens, steps
// (segmenting the new text in ModeWhole) and grade.
func (r *Runner) complete(ctx context.Context, task *abi.Task, t *algo.Trajectory, j *job) {
	t.Tokens, t.LogProbs, t.Text = j.tokens, j.logps, j.text
	if len(j.ents) == len(j.tokens) {
		// Every call reported entropies (a policy may report none).
		t.Entropies = j.ents
	}
	t.Steps = j.steps
	if r.cfg.Mode == ModeWhole {
		suffix := j.tokens[j.prefix:]
		text := r.tok.Decode(suffix)
		spans, err := r.segmenter.Segment(ctx, &abi.SegmentRequest{Response: text})
		if err != nil {
			t.Status = host.StatusOf(err)
			t.Verdict = abi.Verdict{Status: t.Status, Detail: "segmenter: " + err.Error()}
			return
		}
		steps := append([]algo.Span(nil), j.steps...)
		for _, s := range tokenSpans(byteOffsets(r.tok, suffix, text), spans) {
			steps = append(steps, algo.Span{Start: s.Start + j.prefix, End: s.End + j.prefix})
		}
		t.Steps = steps
	}
	g := r.grade(ctx, task, t.Text, byteSpans(byteOffsets(r.tok, t.Tokens, t.Text), t.Steps))
	t.Reward, t.Correct, t.Status, t.Verdict, t.Rewards = g.Reward, g.Correct, g.Verdict.Status, g.Verdict, g.Rewards
}
