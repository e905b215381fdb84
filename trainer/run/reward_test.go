package run

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
)

// lengthModel scores a response by its length; fail makes it error.
type lengthModel struct {
	calls int
	fail  bool
}

func (m *lengthModel) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	m.calls++
	if m.fail {
		return nil, errors.New("boom")
	}
	out := make([]float64, len(reqs))
	for i, r := range reqs {
		out[i] = float64(len(r.Response))
	}
	return out, nil
}

func TestRewarder(t *testing.T) {
	lm := &lengthModel{}
	r := &rewarder{verifierWeight: 2, models: []rewardModel{{name: "len", weight: 0.5, model: lm}}}
	prompts := []*algo.Prompt{{Trajs: []algo.Trajectory{
		{Text: "ab", Reward: 1, Status: abi.StatusOK},
		{Text: "abcd", Reward: 0, Status: abi.StatusOK},
		{Text: "abcdef", Reward: 0, Status: abi.StatusTimeout},
	}}}
	comps, err := r.apply(context.Background(), []abi.Task{{ID: "t"}}, prompts)
	require.NoError(t, err)
	require.Equal(t, 1, lm.calls, "one batched call per model")
	require.Equal(t, 2*1+0.5*2, prompts[0].Trajs[0].Reward)
	require.Equal(t, 2*0+0.5*4, prompts[0].Trajs[1].Reward)
	require.Equal(t, 0.0, prompts[0].Trajs[2].Reward, "an unusable verdict gets no reward-model score")
	require.Nil(t, comps[0][2])
	require.Equal(t, components{"verifier": 1, "len": 2}, comps[0][0])
	require.Equal(t, map[string]float64{"len": 3, "verifier": 0.5}, componentMeans(comps))

	lm.fail = true
	_, err = r.apply(context.Background(), []abi.Task{{ID: "t"}}, prompts)
	require.ErrorContains(t, err, `reward model "len": boom`)
}
