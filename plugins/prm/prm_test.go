package prm_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/prm"
	_ "github.com/rewind-rl/rewind/plugins/procprm"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func f(x float64) *float64 { return &x }

func TestPick(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scores    []float64 // s_0 (empty prefix) .. s_n
		threshold *float64
		step      int
		fallback  string
	}{
		{"first below the threshold, not the largest drop", []float64{1, 0.4, 0.3, 0}, f(0.5), 1, ""},
		{"equal to the threshold is not below it", []float64{1, 0.5, 0.2}, f(0.5), 2, ""},
		{"none below: the largest drop", []float64{1, 0.9, 0.6, 0.55}, f(0.5), 2, prm.FallbackLargestDrop},
		{"no threshold: the largest drop", []float64{0.2, 0.9, 0.1, 0.05}, nil, 2, ""},
		{"equal drops go to the earliest", []float64{1, 0.75, 0.75, 0.5}, nil, 1, ""},
		{"a drop at step 1 from the empty prefix", []float64{0.75, 0.25, 0.5}, nil, 1, ""},
		{"no drop: no erroneous step (0)", []float64{0.5, 0.5, 0.75}, nil, 0, ""},
		{"no drop with a threshold", []float64{0.5, 0.5, 0.75}, f(0.25), 0, prm.FallbackLargestDrop},
		{"one step below", []float64{1, 0}, f(0.5), 1, ""},
		{"one step that drops", []float64{1, 0.75}, nil, 1, ""},
		{"one step that rises", []float64{0.5, 0.75}, nil, 0, ""},
		{"negative scores and threshold", []float64{-1, -2, -5}, f(-3), 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := prm.Pick(tc.scores, tc.threshold)
			require.Equal(t, tc.step, loc.Step, loc.Detail)
			require.Equal(t, tc.fallback, loc.Fallback)
		})
	}
}

// prefixModel scores a prefix by its length and records what it was asked.
type prefixModel struct {
	got    []string
	scores []float64
	err    error
}

func (m *prefixModel) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	for _, r := range reqs {
		m.got = append(m.got, r.Response)
	}
	return m.scores, m.err
}

func TestLocalizeScoresEveryPrefix(t *testing.T) {
	m := &prefixModel{scores: []float64{1, 1, 0, 0}}
	req := &abi.LocalizeRequest{Task: abi.Task{ID: "t"}, Response: "ab cd ef", Steps: []abi.Span{{Start: 0, End: 2}, {Start: 3, End: 5}, {Start: 6, End: 8}}}
	loc, err := (&prm.Localizer{Model: m, Threshold: f(0.5)}).Localize(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, 2, loc.Step)
	require.Equal(t, []string{"", "ab", "ab cd", "ab cd ef"}, m.got)

	m = &prefixModel{scores: []float64{1}}
	_, err = (&prm.Localizer{Model: m}).Localize(context.Background(), req)
	require.ErrorContains(t, err, "returned 1 scores for 4 prefixes")
	m = &prefixModel{err: errors.New("boom")}
	_, err = (&prm.Localizer{Model: m}).Localize(context.Background(), req)
	require.ErrorContains(t, err, "prm: scoring 4 prefixes: boom")
	_, err = (&prm.Localizer{Model: m}).Localize(context.Background(), &abi.LocalizeRequest{})
	require.ErrorContains(t, err, "no steps")
}

func TestOptions(t *testing.T) {
	c, err := prm.Decode(map[string]any{"reward_model": "procprm", "threshold": 0.5})
	require.NoError(t, err)
	require.Equal(t, prm.Config{RewardModel: "procprm", Threshold: f(0.5)}, c)
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{nil, "option reward_model: required"},
		{map[string]any{"reward_model": 3}, "option reward_model: want a string"},
		{map[string]any{"reward_model": "x", "threshold": "low"}, "option threshold: want a number"},
		{map[string]any{"reward_model": "x", "model": "y"}, "unknown options model (valid: reward_model, threshold)"},
	} {
		_, err := prm.Decode(tc.opts)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestWithProcPRM composes prm with the procprm reward model through a
// registry, the reward model loaded from the config Resolve returns, and
// checks that with a threshold in (0, 1] it answers the process
// verifier's first wrong step.
func TestWithProcPRM(t *testing.T) {
	ctx := context.Background()
	reg := host.NewRegistry(host.Options{Resolve: func(name string) (host.PluginConfig, error) {
		return host.PluginConfig{Builtin: name}, nil
	}})
	defer reg.Close()
	require.NoError(t, reg.Load(ctx, "prm", host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "procprm", "threshold": 0.5}}))
	require.Equal(t, []string{"prm", "procprm"}, reg.Names(), "the reward model is loaded with the localizer")
	l, err := reg.Localizer("prm")
	require.NoError(t, err)

	task := abi.Task{ID: "s", Meta: json.RawMessage(`{"family":"sum","terms":[47,385,29,100]}`)}
	for _, tc := range []struct {
		name     string
		response string
		step     int
	}{
		{"second step wrong", `Step 1: 47+385=432</thought>Step 2: 432+29=451</thought>Step 3: 451+100=\boxed{551}</thought>`, 2},
		{"first step wrong", `Step 1: 47+385=422</thought>Step 2: 422+29=451</thought>Step 3: 451+100=\boxed{551}</thought>`, 1},
		{"one step, wrong", `Step 1: 47+385=\boxed{9}</thought>`, 1},
		{"no wrong step", `Step 1: 47+385=432</thought>Step 2: 432+29=461</thought>`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &abi.LocalizeRequest{Task: task, Response: tc.response, Steps: splitThought(tc.response)}
			loc, err := l.Localize(ctx, req)
			require.NoError(t, err)
			require.Equal(t, tc.step, loc.Step, loc.Detail)
		})
	}
	// One batch of prefixes per localization above.
	calls := map[string]int64{}
	for _, c := range reg.Counters() {
		calls[c.Plugin+" "+c.Op+" "+string(c.Status)] += c.Count
	}
	require.Equal(t, int64(4), calls["procprm score ok"])
}

func splitThought(s string) []abi.Span {
	var out []abi.Span
	start := 0
	const d = "</thought>"
	for i := 0; i+len(d) <= len(s); i++ {
		if s[i:i+len(d)] == d {
			out = append(out, abi.Span{Start: start, End: i + len(d)})
			start = i + len(d)
			i += len(d) - 1
		}
	}
	return out
}

func TestComposeErrors(t *testing.T) {
	ctx := context.Background()
	// Without Resolve the reward model must be loaded first.
	reg := host.NewRegistry(host.Options{})
	err := reg.Load(ctx, "prm", host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "procprm"}})
	require.ErrorContains(t, err, `plugin "procprm" is not loaded; load it before "prm"`)
	require.NoError(t, reg.Load(ctx, "procprm", host.PluginConfig{Builtin: "procprm"}))
	require.NoError(t, reg.Load(ctx, "prm", host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "procprm"}}))
	// A reward model that is not one.
	err = reg.Load(ctx, "prm2", host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "prm"}})
	require.ErrorContains(t, err, `plugin "prm" is a localizer, not a reward_model`)
	require.NoError(t, reg.Close())

	// A cycle: prm names itself as its reward model.
	reg = host.NewRegistry(host.Options{Resolve: func(name string) (host.PluginConfig, error) {
		return host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "loop"}}, nil
	}})
	defer reg.Close()
	err = reg.Load(ctx, "loop", host.PluginConfig{Builtin: "prm", Options: map[string]any{"reward_model": "loop"}})
	require.ErrorContains(t, err, `plugin "loop" depends on itself (loop -> loop)`)
}
