package confidence

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// request has one step per (mean, min) pair; a step with mean 1 has no
// token of its own.
func request(pairs ...[2]float64) *abi.LocalizeRequest {
	req := &abi.LocalizeRequest{Response: "x"}
	for _, p := range pairs {
		req.Steps = append(req.Steps, abi.Span{Start: 0, End: 1})
		if p[0] == 1 {
			req.StepStats = append(req.StepStats, abi.StepStats{})
			continue
		}
		req.StepStats = append(req.StepStats, abi.StepStats{Tokens: 2, MeanLogProb: p[0], MinLogProb: p[1]})
	}
	return req
}

func TestLocalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat string
		req  *abi.LocalizeRequest
		step int
	}{
		{"lowest mean", MeanLogProb, request([2]float64{-0.5, -3}, [2]float64{-1.5, -2}, [2]float64{-0.25, -0.5}), 2},
		{"lowest min", MinLogProb, request([2]float64{-0.5, -3}, [2]float64{-1.5, -2}, [2]float64{-0.25, -0.5}), 1},
		{"empty statistic means the mean", "", request([2]float64{-0.5, -3}, [2]float64{-1.5, -2}), 2},
		{"ties go to the earliest", MeanLogProb, request([2]float64{-0.5, -1}, [2]float64{-2, -3}, [2]float64{-2, -2}), 2},
		{"ties of min", MinLogProb, request([2]float64{-0.5, -3}, [2]float64{-2, -3}), 1},
		{"one step", MeanLogProb, request([2]float64{-0.1, -0.2}), 1},
		{"a step with no token is never chosen", MeanLogProb, request([2]float64{1, 0}, [2]float64{-0.1, -0.2}), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := Localizer{Statistic: tc.stat}.Localize(context.Background(), tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.step, loc.Step, loc.Detail)
			require.Empty(t, loc.Fallback)
		})
	}
}

func TestLocalizeErrors(t *testing.T) {
	noStats := request([2]float64{-1, -1})
	noStats.StepStats = nil
	short := request([2]float64{-1, -1}, [2]float64{-1, -1})
	short.StepStats = short.StepStats[:1]
	for _, tc := range []struct {
		name string
		req  *abi.LocalizeRequest
		want string
	}{
		{"no stats", noStats, "no step_stats"},
		{"stats do not match steps", short, "1 step_stats for 2 steps"},
		{"no steps", &abi.LocalizeRequest{}, "no steps"},
		{"no step has a token", request([2]float64{1, 0}), "no step has a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Localizer{}.Localize(context.Background(), tc.req)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestOptions(t *testing.T) {
	l, err := New(nil)
	require.NoError(t, err)
	require.Equal(t, MeanLogProb, l.Statistic)
	l, err = New(map[string]any{"statistic": "min_logprob"})
	require.NoError(t, err)
	require.Equal(t, MinLogProb, l.Statistic)
	_, err = New(map[string]any{"statistic": "median"})
	require.ErrorContains(t, err, `option statistic: want mean_logprob or min_logprob, got "median"`)
	_, err = New(map[string]any{"statistic": 3})
	require.ErrorContains(t, err, "option statistic: want a string")
	_, err = New(map[string]any{"stat": "mean_logprob"})
	require.ErrorContains(t, err, "unknown options stat (valid: statistic)")
}
