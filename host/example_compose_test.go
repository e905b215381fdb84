package host_test

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// worstPrefix is a composite localizer: it scores every prefix of the
// response with a reward model and answers the step whose prefix scores
// lowest (a simpler cousin of the built-in prm localizer).
type worstPrefix struct{ rm host.RewardModel }

func (l worstPrefix) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	reqs := make([]abi.ScoreRequest, len(req.Steps))
	for k, sp := range req.Steps {
		reqs[k] = abi.ScoreRequest{Task: req.Task, Response: req.Response[:sp.End]}
	}
	s, err := l.rm.Score(ctx, reqs)
	if err != nil {
		return abi.Localization{}, err
	}
	worst := 0
	for k := range s {
		if s[k] < s[worst] {
			worst = k
		}
	}
	return abi.Localization{Step: worst + 1}, nil
}

func init() {
	host.RegisterComposite(abi.KindLocalizer, "example-worst-prefix", func(opts map[string]any, deps host.Deps) (any, error) {
		name, ok := opts["reward_model"].(string)
		if !ok {
			return nil, fmt.Errorf("example-worst-prefix needs options.reward_model, a plugin name")
		}
		rm, err := deps.RewardModel(name)
		if err != nil {
			return nil, err
		}
		return worstPrefix{rm}, nil
	})
}

// A built-in that uses another plugin of its run registers with
// RegisterComposite; the registry loads the plugin it names from
// Options.Resolve (a trainer resolves names from its plugins section), and
// its calls go through the registry like any other.
func ExampleRegisterComposite() {
	configs := map[string]host.PluginConfig{
		"brevity": {Builtin: "example-brevity", Options: map[string]any{"budget": 4}},
	}
	reg := host.NewRegistry(host.Options{Resolve: func(name string) (host.PluginConfig, error) {
		c, ok := configs[name]
		if !ok {
			return c, fmt.Errorf("no config for %q", name)
		}
		return c, nil
	}})
	defer reg.Close()
	ctx := context.Background()
	err := reg.Load(ctx, "worst", host.PluginConfig{Builtin: "example-worst-prefix", Options: map[string]any{"reward_model": "brevity"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.Names())
	l, _ := reg.Localizer("worst")
	// Prefix scores: "ab" 1, "ab cd" 0.8, "ab cd efgh" 0.4.
	loc, err := l.Localize(ctx, &abi.LocalizeRequest{Response: "ab cd efgh", Steps: []abi.Span{{Start: 0, End: 2}, {Start: 3, End: 5}, {Start: 6, End: 10}}})
	fmt.Println(loc.Step, err)
	// Output:
	// [brevity worst]
	// 3 <nil>
}
