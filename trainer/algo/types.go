// Package algo holds the arithmetic of GRPO, RRPO and SRPO: which sampled
// trajectories form which group (the 1x4 procedure and its 2x4 and 1x8
// ablations, and plain GRPO), group-normalised advantages, loss masks and
// the per-token loss weights handed to the engine.
//
// The package is pure: no I/O, no clocks, no randomness. The rollout
// package samples and grades trajectories and then calls Assemble and
// BuildBatch; the run package logs the result.
//
// The algorithm is the one docs/method.md describes; docs/algo.md lists
// the decisions that the paper leaves open (unusable verdicts, the 2x4
// fallback, the Dr.GRPO normaliser).
package algo

import "github.com/rewind-rl/rewind/sdk/abi"

// Span is the half-open range [Start, End) of one step, in indices of a
// trajectory's response Tokens.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Origin says how a trajectory was sampled.
type Origin string

// Origins.
const (
	// OriginFresh: sampled from the prompt alone.
	OriginFresh Origin = "fresh"
	// OriginReset: a parent's prefix (steps 1..k-1) followed by a newly
	// sampled suffix.
	OriginReset Origin = "reset"
)

// Kind is the kind of a training group.
type Kind string

// Group kinds.
const (
	KindBase  Kind = "base"  // fresh trajectories beside a reset group (1x4)
	KindReset Kind = "reset" // continuations of one parent's reset state
	KindGRPO  Kind = "grpo"  // one group of fresh trajectories (GRPO, or the no-failure fallback)
)

// Role says what became of a trajectory. Only RoleTrain trajectories enter
// the loss (possibly with advantage 0).
type Role string

// Roles.
const (
	// RoleTrain: member of a trained group, with a usable verdict.
	RoleTrain Role = "train"
	// RoleParent: the failure whose reset state the reset group continues;
	// never trained on.
	RoleParent Role = "parent"
	// RoleExtra: a fresh trajectory that the sequential procedure sampled
	// but that fits in no group (a success sampled after the base group was
	// full while the parent was still being sought, or fresh samples past
	// the first GroupSize of the no-failure fallback). Not trained on.
	RoleExtra Role = "extra"
	// RoleSurplus: sampled by a batched round after the point where the
	// sequential procedure would have stopped. Not trained on, and not part
	// of any statistic except token counts.
	RoleSurplus Role = "surplus"
	// RoleDropped: its verdict is unusable (timeout, crash, abstain, ...),
	// or it belongs to a group dropped under FailDropGroup. Not trained on.
	RoleDropped Role = "dropped"
	// RoleSkipped: member of a zero-variance group skipped by
	// Config.SkipZeroVar. Not trained on.
	RoleSkipped Role = "skipped"
)

// Trajectory is one sampled response to a prompt. The rollout fills the
// fields above the line; Assemble fills the ones below it.
type Trajectory struct {
	Origin Origin `json:"origin"`
	// Index is the 0-based sampling order among the prompt's fresh
	// trajectories, or the 0-based index within the reset group.
	Index int `json:"index"`
	// Parent is, for a reset trajectory, the index in Prompt.Trajs of the
	// parent it continues; -1 for a fresh one.
	Parent int `json:"parent"`
	// ResetStep is the 1-based step k the reset resamples (the prefix is
	// steps 1..k-1); 0 for a fresh trajectory.
	ResetStep int `json:"reset_step,omitempty"`
	// PrefixLen is the number of leading Tokens copied from the parent
	// (0 for a fresh trajectory and for a reset at k = 1).
	PrefixLen int `json:"prefix_len"`

	// Tokens are the response ids (prefix + suffix for a reset
	// trajectory), without the prompt.
	Tokens []int `json:"tokens"`
	// LogProbs[i] is log pi_old(Tokens[i]) at sampling time; for the
	// prefix of a reset trajectory, the parent's values. Needed by the
	// clipped loss only; len(LogProbs) == len(Tokens) when present.
	LogProbs []float32 `json:"-"`
	// Entropies[i] is the entropy (nats, at temperature 1) of the
	// distribution Tokens[i] was drawn from, when the engine reported
	// them (len(Entropies) == len(Tokens)); nil otherwise. Localizers
	// read them through the step statistics.
	Entropies []float32 `json:"-"`
	// Text is the decoding of Tokens.
	Text string `json:"text"`
	// Steps are the step spans in token indices, ordered and disjoint.
	Steps []Span `json:"steps"`

	// Reward is the trained reward (the verifier's score, possibly
	// combined with reward models); meaningful only when Status is usable.
	Reward float64 `json:"reward"`
	// Correct says the verifier judged the answer right; a usable
	// trajectory that is not Correct is a failure (a parent candidate).
	Correct bool `json:"correct"`
	// Status is the verdict's status; only abi.StatusOK is usable.
	Status abi.Status `json:"status"`
	// Verdict is the verifier's verdict (its Status may be a host-assigned
	// failure; SHA256 names the verifier module).
	Verdict abi.Verdict `json:"verdict"`
	// Rewards holds each reward component ("verifier" and one entry per
	// reward model) before they are summed into Reward.
	Rewards map[string]float64 `json:"rewards,omitempty"`
	// Seed is the seed the trajectory was sampled with.
	Seed uint64 `json:"seed"`

	// Role, Group, Advantage and the mask are set by Assemble.
	Role Role `json:"role"`
	// Group is the index in Prompt.Groups, or -1.
	Group     int     `json:"group"`
	Advantage float64 `json:"advantage"`
	// MaskStart and MaskEnd bound the trained response tokens
	// [MaskStart, MaskEnd); both 0 when the trajectory is not trained.
	MaskStart int `json:"mask_start"`
	MaskEnd   int `json:"mask_end"`
}

// Usable reports whether the trajectory's verdict carries a reward.
func (t *Trajectory) Usable() bool { return t.Status.Usable() }

// Failed reports whether the trajectory is a usable wrong answer.
func (t *Trajectory) Failed() bool { return t.Usable() && !t.Correct }

// Group is one set of trajectories normalised together.
type Group struct {
	Kind Kind `json:"kind"`
	// Members are indices in Prompt.Trajs, in sampling order, including
	// members dropped for an unusable verdict.
	Members []int `json:"members"`
	// Parent is the index in Prompt.Trajs of a reset group's parent; -1
	// for other kinds.
	Parent int `json:"parent"`
	// Mean and Std (population) of the usable members' rewards.
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	// Usable counts members with a usable verdict.
	Usable int `json:"usable"`
	// Dropped: not trained because of an unusable verdict under
	// FailDropGroup, or because no member is usable.
	Dropped bool `json:"dropped"`
	// Skipped: not trained because its rewards have zero variance and
	// Config.SkipZeroVar is set.
	Skipped bool `json:"skipped"`
}

// Trained reports whether the group enters the loss.
func (g *Group) Trained() bool { return !g.Dropped && !g.Skipped }

// Prompt is everything sampled for one prompt in one step.
type Prompt struct {
	// Index is the prompt's position in the batch.
	Index int `json:"index"`
	// TaskID is the dataset id of the task.
	TaskID string `json:"task_id"`
	// PromptIDs are the prompt's token ids; training sequences are
	// PromptIDs followed by a trajectory's Tokens.
	PromptIDs []int `json:"-"`
	// Trajs holds the fresh trajectories in sampling order (surplus ones
	// included), then the reset trajectories grouped by parent.
	Trajs  []Trajectory `json:"trajectories"`
	Groups []Group      `json:"groups"`
}
