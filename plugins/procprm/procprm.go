// Package procprm is the built-in `procprm` reward model: an example
// process reward model for the `prm` localizer on the procedural
// benchmarks of package tasks. It scores a (partial) response 1 when every
// step it contains is correct and 0 otherwise, using the process
// verifier's step checks (tasks.Verify, the same as procverify), so that
// prm with procprm and a threshold in (0, 1] resets exactly at the
// verifier's first wrong step, like the oracle, but through the reward
// model interface that a learned PRM would implement. It takes no options.
//
//	plugins:
//	  prm: {builtin: prm, options: {reward_model: procprm, threshold: 0.5}}
//	  procprm: {builtin: procprm}
//
// The empty response (the prefix before step 1) scores 1: it has no wrong
// step. As an outcome reward (reward.models) it would reward correct
// reasoning whatever the final answer; it is meant for localization.
package procprm

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
)

// Name is the builtin's registered name.
const Name = "procprm"

func init() {
	host.RegisterBuiltin(abi.KindRewardModel, Name, host.NoOptions(Model{}))
}

// Model scores prefixes by their step correctness. It is stateless and
// safe for concurrent use.
type Model struct{}

// Score implements host.RewardModel. A task the process verifier cannot
// use (no problem in its meta) is an error: no score is made up.
func (Model) Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out := make([]float64, len(reqs))
	for i := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := tasks.Verify(&abi.VerifyRequest{Task: reqs[i].Task, Response: reqs[i].Response})
		if v.Status != abi.StatusOK || v.FirstError == nil {
			return nil, fmt.Errorf("procprm: task %q: the process verifier cannot check it (%s: %s)", reqs[i].Task.ID, v.Status, v.Detail)
		}
		if *v.FirstError == 0 {
			out[i] = 1
		}
	}
	return out, nil
}

var _ host.RewardModel = Model{}
