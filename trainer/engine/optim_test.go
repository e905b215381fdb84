package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLearningRateSchedules(t *testing.T) {
	for _, tc := range []struct {
		o    Optim
		step int
		want float64
	}{
		{Optim{LR: 1, Schedule: "constant"}, 7, 1},
		{Optim{LR: 1, Schedule: "constant", WarmupSteps: 4}, 1, 0.25},
		{Optim{LR: 1, Schedule: "linear", WarmupSteps: 2, TotalSteps: 12}, 7, 0.5},
		{Optim{LR: 1, Schedule: "linear", TotalSteps: 10}, 20, 0},
		{Optim{LR: 2, Schedule: "cosine", WarmupSteps: 0, TotalSteps: 10}, 5, 1},
		{Optim{LR: 2, Schedule: "cosine", WarmupSteps: 0, TotalSteps: 10}, 10, 0},
	} {
		require.InDelta(t, tc.want, tc.o.LRAt(tc.step), 1e-12, "%+v step %d", tc.o, tc.step)
	}
}

func TestOptimValidate(t *testing.T) {
	good := Optim{LR: 1e-2, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "cosine", WarmupSteps: 2, TotalSteps: 100}
	require.NoError(t, good.Validate())
	require.NoError(t, Optim{LR: 1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8}.Validate(), "empty schedule means constant")
	for _, tc := range []struct {
		name string
		edit func(*Optim)
		want string
	}{
		{"cosine without total", func(o *Optim) { o.TotalSteps = 0 }, "optim.total_steps = 0"},
		{"total within warm-up", func(o *Optim) { o.TotalSteps = 2 }, "needs total_steps > warmup_steps = 2"},
		{"no eps", func(o *Optim) { o.Eps = 0 }, "optim.eps"},
		{"negative lr", func(o *Optim) { o.LR = -1 }, "optim.lr"},
		{"beta1 of 1", func(o *Optim) { o.Beta1 = 1 }, "optim.beta1"},
		{"beta2 NaN", func(o *Optim) { o.Beta2 = math.NaN() }, "optim.beta2"},
		{"negative decay", func(o *Optim) { o.WeightDecay = -0.1 }, "optim.weight_decay"},
		{"negative clip", func(o *Optim) { o.GradClip = -1 }, "optim.grad_clip"},
		{"negative warm-up", func(o *Optim) { o.WarmupSteps = -1 }, "optim.warmup_steps"},
		{"unknown schedule", func(o *Optim) { o.Schedule = "step" }, `optim.schedule = "step"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			require.ErrorContains(t, o.Validate(), tc.want)
		})
	}
	// Every faulty field is reported, not only the first.
	err := Optim{LR: -1, Eps: 0, Schedule: "step"}.Validate()
	for _, f := range []string{"optim.lr", "optim.eps", "optim.schedule"} {
		require.ErrorContains(t, err, f)
	}
}
