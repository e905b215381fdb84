package host_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// constModel scores every response 0.5.
type constModel struct{}

func (constModel) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out := make([]float64, len(reqs))
	for i := range out {
		out[i] = 0.5
	}
	return out, nil
}

// scoredStep is a composite localizer: it answers step 1 when its reward
// model (options.model) scores the response below 1.
type scoredStep struct{ rm host.RewardModel }

func (l scoredStep) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	s, err := l.rm.Score(ctx, []abi.ScoreRequest{{Task: req.Task, Response: req.Response}})
	if err != nil {
		return abi.Localization{}, err
	}
	if s[0] < 1 {
		return abi.Localization{Step: 1}, nil
	}
	return abi.Localization{}, nil
}

func init() {
	host.RegisterBuiltin(abi.KindRewardModel, "test-const-model", host.NoOptions(constModel{}))
	host.RegisterComposite(abi.KindLocalizer, "test-scored-step", func(opts map[string]any, deps host.Deps) (any, error) {
		name, _ := opts["model"].(string)
		rm, err := deps.RewardModel(name)
		if err != nil {
			return nil, err
		}
		return scoredStep{rm}, nil
	})
}

func TestCompositeBuiltins(t *testing.T) {
	ctx := context.Background()
	configs := map[string]host.PluginConfig{
		"rm":    {Builtin: "test-const-model"},
		"loc":   {Builtin: "test-scored-step", Options: map[string]any{"model": "rm"}},
		"loop1": {Builtin: "test-scored-step", Options: map[string]any{"model": "loop2"}},
		"loop2": {Builtin: "test-scored-step", Options: map[string]any{"model": "loop1"}},
	}
	resolve := func(name string) (host.PluginConfig, error) { return configs[name], nil }

	t.Run("a dependency is loaded from Resolve and called through the registry", func(t *testing.T) {
		reg := host.NewRegistry(host.Options{Resolve: resolve})
		defer reg.Close()
		require.NoError(t, reg.Load(ctx, "loc", configs["loc"]))
		require.Equal(t, []string{"loc", "rm"}, reg.Names())
		l, err := reg.Localizer("loc")
		require.NoError(t, err)
		loc, err := l.Localize(ctx, &abi.LocalizeRequest{Response: "x", Steps: []abi.Span{{Start: 0, End: 1}}})
		require.NoError(t, err)
		require.Equal(t, 1, loc.Step)
		calls := map[string]int64{}
		for _, c := range reg.Counters() {
			calls[c.Plugin+" "+c.Op] += c.Count
		}
		require.Equal(t, int64(1), calls["rm score"], "the dependency's calls count under its own name")
	})
	t.Run("without Resolve the dependency must be loaded first", func(t *testing.T) {
		reg := host.NewRegistry(host.Options{})
		defer reg.Close()
		require.ErrorContains(t, reg.Load(ctx, "loc", configs["loc"]), `plugin "rm" is not loaded; load it before "loc"`)
		require.NoError(t, reg.Load(ctx, "rm", configs["rm"]))
		require.NoError(t, reg.Load(ctx, "loc", configs["loc"]))
	})
	t.Run("a cycle is refused", func(t *testing.T) {
		reg := host.NewRegistry(host.Options{Resolve: resolve})
		defer reg.Close()
		require.ErrorContains(t, reg.Load(ctx, "loop1", configs["loop1"]), `plugin "loop1" depends on itself (loop1 -> loop2 -> loop1)`)
		require.Empty(t, reg.Names())
	})
}
