package entropy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// request has one step per entropy; a negative entropy stands for a step
// with no token of its own.
func request(hs ...float64) *abi.LocalizeRequest {
	req := &abi.LocalizeRequest{Response: "x"}
	for _, h := range hs {
		req.Steps = append(req.Steps, abi.Span{Start: 0, End: 1})
		if h < 0 {
			req.StepStats = append(req.StepStats, abi.StepStats{})
			continue
		}
		req.StepStats = append(req.StepStats, abi.StepStats{Tokens: 3, MeanLogProb: -1, MinLogProb: -2, MeanEntropy: &h})
	}
	return req
}

func TestLocalize(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold float64
		req       *abi.LocalizeRequest
		step      int
		fallback  string
	}{
		{"first above the threshold, not the largest", 1, request(0.5, 1.2, 2.0), 2, ""},
		{"none above: the largest", 1, request(0.5, 0.9, 0.7), 2, FallbackLargest},
		{"equal to the threshold is not above it; ties go to the earliest", 1, request(1, 1), 1, FallbackLargest},
		{"no threshold: the largest, ties to the earliest", 0, request(0.5, 2, 2), 2, ""},
		{"one step above", 1, request(3), 1, ""},
		{"one step below", 1, request(0.25), 1, FallbackLargest},
		{"one step, no threshold", 0, request(0), 1, ""},
		{"a step with no token is never chosen", 0, request(-1, 0.1), 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := Localizer{Threshold: tc.threshold}.Localize(context.Background(), tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.step, loc.Step, loc.Detail)
			require.Equal(t, tc.fallback, loc.Fallback)
		})
	}
}

func TestLocalizeErrors(t *testing.T) {
	noEnt := request(1, 2)
	noEnt.StepStats[1].MeanEntropy = nil
	short := request(1, 2)
	short.StepStats = short.StepStats[:1]
	noStats := request(1)
	noStats.StepStats = nil
	for _, tc := range []struct {
		name string
		req  *abi.LocalizeRequest
		want string
	}{
		{"no stats", noStats, "no step_stats with mean_entropy"},
		{"no entropy", noEnt, "no step_stats with mean_entropy"},
		{"stats do not match steps", short, "1 step_stats for 2 steps"},
		{"no steps", &abi.LocalizeRequest{}, "no steps"},
		{"no step has a token", request(-1, -1), "no step has a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Localizer{}.Localize(context.Background(), tc.req)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestOptions(t *testing.T) {
	l, err := New(map[string]any{"threshold": 2})
	require.NoError(t, err)
	require.Equal(t, 2.0, l.Threshold)
	l, err = New(nil)
	require.NoError(t, err)
	require.Zero(t, l.Threshold)
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"threshold": -1.0}, "option threshold: must be > 0 nats"},
		{map[string]any{"threshold": 0}, "option threshold: must be > 0 nats"},
		{map[string]any{"threshold": "high"}, "option threshold: want a number, got string high"},
		{map[string]any{"thresh": 1.0}, "unknown options thresh (valid: threshold)"},
	} {
		_, err := New(tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
}
