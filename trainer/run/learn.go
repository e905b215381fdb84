package run

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/rollout"
)

// algoSettings maps the algo section of a config onto package algo:
// algo.name's method and algo.layout give the group assembly.
func algoSettings(c Config) (algo.Procedure, algo.Config, error) {
	m, err := algo.MethodNamed(c.Algo.Name)
	if err != nil {
		return algo.Procedure{}, algo.Config{}, err
	}
	proc, err := algo.NewProcedure(m.VariantFor(c.Algo.Layout))
	if err != nil {
		return algo.Procedure{}, algo.Config{}, err
	}
	proc.GroupSize = c.Algo.GroupSize
	if m.Resets() {
		proc.MaxFresh = c.Algo.MaxFresh
	} else {
		proc.MaxFresh = c.Algo.GroupSize
	}
	ac := algo.DefaultConfig()
	ac.Loss = engine.LossKind(c.Algo.Loss)
	ac.ClipLow = float32(c.Algo.ClipLow)
	ac.ClipHigh = float32(c.Algo.ClipHigh)
	ac.MaxLen = c.Sampling.MaxTokens
	if c.Algo.DrGRPO {
		ac = ac.DrGRPO()
	}
	ac.SkipZeroVar = c.Algo.SkipZeroVariance
	ac.NoMask = c.Algo.ResetMask == "all"
	if err := proc.Validate(); err != nil {
		return algo.Procedure{}, algo.Config{}, fmt.Errorf("algo: %w", err)
	}
	return proc, ac, ac.Validate()
}

// learned is what learn reports.
type learned struct {
	update    engine.UpdateStats
	updated   bool // false when no trajectory was trained (no update)
	sequences int
	// kl is the KL penalty's statistics (nil without one).
	kl *algo.KLStats
	// aux is the auxiliary localization loss's (nil without one).
	aux *AuxStats
}

// klPenalty is algo.kl_coef and the frozen reference policy it measures
// the KL to; the zero value is no penalty.
type klPenalty struct {
	coef float64
	ref  engine.Policy
}

// learn turns a step's assembled prompts (the rollout assigns roles,
// groups, advantages and masks) into the loss batch and one engine
// update, with the KL penalty when kl has a reference.
//
// aux, when set, adds the step's auxiliary localization examples to the
// batch (after the KL penalty, which they do not get).
func learn(ctx context.Context, pol engine.Policy, ac algo.Config, prompts []*algo.Prompt, kl klPenalty, aux *auxLoc, step int) (learned, error) {
	batch, refs, err := algo.BuildBatch(prompts, ac)
	if err != nil {
		return learned{}, err
	}
	out := learned{sequences: len(batch.Seqs)}
	if len(batch.Seqs) == 0 && aux == nil {
		return out, nil
	}
	if kl.ref != nil && kl.coef > 0 {
		seqs := make([][]int, len(batch.Seqs))
		for i, s := range batch.Seqs {
			seqs[i] = s.Tokens
		}
		ref, err := kl.ref.LogProbs(ctx, seqs)
		if err != nil {
			return learned{}, fmt.Errorf("kl: reference log-probs: %w", err)
		}
		st, err := algo.AddKL(&batch, refs, prompts, ac, kl.coef, ref)
		if err != nil {
			return learned{}, err
		}
		out.kl = &st
	}
	if aux != nil {
		st, err := aux.add(ctx, pol, &batch, step)
		if err != nil {
			return learned{}, err
		}
		out.aux = &st
		out.sequences = len(batch.Seqs)
	}
	if out.update, err = pol.Update(ctx, batch); err != nil {
		return learned{}, fmt.Errorf("update: %w", err)
	}
	out.updated = true
	return out, nil
}

// RolloutLine is one line of rollouts.jsonl: one trajectory of one step.
type RolloutLine struct {
	Step   int    `json:"step"`
	Prompt int    `json:"prompt"` // index in the step's batch
	TaskID string `json:"task_id"`
	Traj   int    `json:"traj"` // index among the prompt's trajectories
	// Origin, Role and Group (with its Kind) say how the trajectory was
	// sampled and used; Group is -1 outside groups.
	Origin    algo.Origin `json:"origin"`
	Role      algo.Role   `json:"role"`
	Group     int         `json:"group"`
	GroupKind algo.Kind   `json:"group_kind,omitempty"`
	// Parent is the index of the parent trajectory a reset continues (-1
	// for fresh ones); ResetStep the step k resampled; PrefixLen the
	// tokens copied from the parent.
	Parent    int `json:"parent"`
	ResetStep int `json:"reset_step,omitempty"`
	PrefixLen int `json:"prefix_len"`
	// Tokens are the response ids; Steps their step spans in tokens.
	Tokens []int       `json:"tokens"`
	Steps  []algo.Span `json:"steps"`
	Text   string      `json:"text"`
	// Seed is the trajectory's sampling seed.
	Seed uint64 `json:"seed"`
	// Reward is the trained reward; Components its parts ("verifier" and
	// each reward model). Both are absent (reward null) when the verdict
	// is unusable: there is no reward, and 0 would read as a wrong answer.
	Reward     *float64           `json:"reward"`
	Components map[string]float64 `json:"reward_components,omitempty"`
	Correct    bool               `json:"correct"`
	// Status is the verdict's status (a host-assigned one when the call
	// failed); Detail the verifier's or the failure's text.
	Status abi.Status `json:"status"`
	Detail string     `json:"detail,omitempty"`
	// FirstError is a process verifier's first wrong step (0: none).
	FirstError *int `json:"first_error,omitempty"`
	// Verifier and VerifierSHA256 identify the plugin that graded it.
	Verifier       string  `json:"verifier,omitempty"`
	VerifierSHA256 string  `json:"verifier_sha256"`
	Advantage      float64 `json:"advantage"`
	// MaskStart and MaskEnd bound the trained tokens [start, end).
	MaskStart int `json:"mask_start"`
	MaskEnd   int `json:"mask_end"`
	// Reset is, on a parent's line, how its reset step was chosen.
	Reset *rollout.Reset `json:"reset,omitempty"`
}

// rolloutLines renders a step's assembled prompts as rollouts.jsonl lines.
func rolloutLines(step int, prompts []*algo.Prompt) []any {
	var out []any
	for _, p := range prompts {
		for ti := range p.Trajs {
			t := &p.Trajs[ti]
			l := RolloutLine{
				Step: step, Prompt: p.Index, TaskID: p.TaskID, Traj: ti,
				Origin: t.Origin, Role: t.Role, Group: t.Group, Parent: t.Parent,
				ResetStep: t.ResetStep, PrefixLen: t.PrefixLen,
				Tokens: t.Tokens, Steps: t.Steps, Text: t.Text, Seed: t.Seed,
				Components: t.Rewards, Correct: t.Correct,
				Status: t.Status, Detail: t.Verdict.Detail, FirstError: t.Verdict.FirstError,
				Verifier: t.Verdict.Plugin, VerifierSHA256: t.Verdict.SHA256,
				Advantage: t.Advantage, MaskStart: t.MaskStart, MaskEnd: t.MaskEnd,
			}
			if t.Usable() {
				r := t.Reward
				l.Reward = &r
			}
			if t.Group >= 0 && t.Group < len(p.Groups) {
				l.GroupKind = p.Groups[t.Group].Kind
			}
			out = append(out, l)
		}
	}
	return out
}
