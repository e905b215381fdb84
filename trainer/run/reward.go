package run

import (
	"context"
	"fmt"
	"sort"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
)

// rewardModel is one reward-model plugin and its weight.
type rewardModel struct {
	name   string
	weight float64
	model  host.RewardModel
}

// rewarder turns verifier scores into trained rewards:
//
//	reward = verifier_weight * verifier_score + sum_m weight_m * score_m
//
// Reward models score only trajectories with a usable verdict (the others
// are never trained on, whatever a reward model would say). Every
// component is kept for rollouts.jsonl and the step's metrics.
type rewarder struct {
	verifierWeight float64
	models         []rewardModel // sorted by name
}

// components of one trajectory's reward, keyed "verifier" and the reward
// models' names.
type components map[string]float64

// apply rewrites the Reward of every usable trajectory of prompts (which
// must hold the verifier's score on entry) and returns each trajectory's
// components, indexed like prompts[i].Trajs[j]. tasks[i] is the task of
// prompts[i]. Each reward model is called once with the whole batch.
func (r *rewarder) apply(ctx context.Context, tasks []abi.Task, prompts []*algo.Prompt) ([][]components, error) {
	out := make([][]components, len(prompts))
	type ref struct{ p, t int }
	var refs []ref
	var reqs []abi.ScoreRequest
	for pi, p := range prompts {
		out[pi] = make([]components, len(p.Trajs))
		for ti := range p.Trajs {
			t := &p.Trajs[ti]
			if !t.Usable() {
				continue
			}
			out[pi][ti] = components{"verifier": t.Reward}
			refs = append(refs, ref{pi, ti})
			reqs = append(reqs, abi.ScoreRequest{Task: tasks[pi], Response: t.Text})
		}
	}
	for _, m := range r.models {
		if len(reqs) == 0 {
			break
		}
		scores, err := m.model.Score(ctx, reqs)
		if err != nil {
			return nil, fmt.Errorf("reward model %q: %w", m.name, err)
		}
		if len(scores) != len(reqs) {
			return nil, fmt.Errorf("reward model %q: %d scores for %d responses", m.name, len(scores), len(reqs))
		}
		for i, rf := range refs {
			out[rf.p][rf.t][m.name] = scores[i]
		}
	}
	for _, rf := range refs {
		c := out[rf.p][rf.t]
		reward := r.verifierWeight * c["verifier"]
		for _, m := range r.models {
			reward += m.weight * c[m.name]
		}
		prompts[rf.p].Trajs[rf.t].Reward = reward
	}
	return out, nil
}

// componentMeans averages each component over the trajectories that have
// it, for the step's metrics.
func componentMeans(all [][]components) map[string]float64 {
	sum := map[string]float64{}
	n := map[string]int{}
	for _, p := range all {
		for _, c := range p {
			for k, v := range c {
				sum[k] += v
				n[k]++
			}
		}
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]float64, len(keys))
	for _, k := range keys {
		out[k] = sum[k] / float64(n[k])
	}
	return out
}
