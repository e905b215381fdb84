// Package prm is the built-in `prm` localizer: it asks a process reward
// model, a reward-model plugin of the same run named in its options, to
// score every prefix of the failed response, and resets where the score
// falls. It composes two plugin kinds by configuration (host.Deps): any
// reward model (builtin, Wasm or process) works, with no code change.
//
// For a response of n steps it scores, in one batch, the n+1 prefixes
// s_0..s_n, where s_0 is the empty response and s_k ends with step k. The
// answer is the first step k whose score s_k is below options.threshold;
// when none is, or no threshold is set, it is the step of the largest drop
// s_{k-1} - s_k (the earliest of equal drops), with Fallback
// "largest-drop" when a threshold was set. When no score drops at all the
// answer is 0, "no erroneous step found", which the trainer treats as a
// reset to step 1.
//
//	localizer: {name: prm}
//	plugins:
//	  prm: {builtin: prm, options: {reward_model: procprm, threshold: 0.5}}
//	  procprm: {builtin: procprm}   # or wasm: ..., process: ...
//
// Options:
//
//	reward_model  name of the reward-model plugin (required); a name that
//	              the run's plugins section does not list means the builtin
//	              of that name
//	threshold     number; optional (absent: the largest drop)
package prm

import (
	"context"
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/internal/options"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// Name is the builtin's registered name.
const Name = "prm"

// FallbackLargestDrop is the Fallback of an answer taken at the largest
// drop because no prefix scored below the threshold.
const FallbackLargestDrop = "largest-drop"

func init() {
	host.RegisterComposite(abi.KindLocalizer, Name, func(m map[string]any, deps host.Deps) (any, error) {
		cfg, err := Decode(m)
		if err != nil {
			return nil, err
		}
		rm, err := deps.RewardModel(cfg.RewardModel)
		if err != nil {
			return nil, fmt.Errorf("option reward_model: %w", err)
		}
		return &Localizer{Model: rm, Threshold: cfg.Threshold}, nil
	})
}

// Config is the decoded options.
type Config struct {
	RewardModel string
	// Threshold, when set, is the score below which a step is wrong.
	Threshold *float64
}

// Decode reads and checks the options.
func Decode(m map[string]any) (Config, error) {
	r := options.New(m)
	var c Config
	name, ok := r.String("reward_model")
	if !ok || name == "" {
		r.Fail("reward_model", "required: the name of the reward-model plugin that scores prefixes (e.g. procprm)")
	}
	c.RewardModel = name
	if t, ok := r.Float("threshold"); ok {
		c.Threshold = &t
	}
	return c, r.Err()
}

// Localizer resets where Model's prefix scores fall.
type Localizer struct {
	Model     host.RewardModel
	Threshold *float64
}

// Localize implements host.Localizer.
func (l *Localizer) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	n := len(req.Steps)
	if n == 0 {
		return abi.Localization{}, errors.New("prm: the request has no steps")
	}
	reqs := make([]abi.ScoreRequest, n+1)
	reqs[0] = abi.ScoreRequest{Task: req.Task}
	for k, sp := range req.Steps {
		if sp.End < 0 || sp.End > len(req.Response) {
			return abi.Localization{}, fmt.Errorf("prm: step %d ends at %d, outside the response (%d bytes)", k+1, sp.End, len(req.Response))
		}
		reqs[k+1] = abi.ScoreRequest{Task: req.Task, Response: req.Response[:sp.End]}
	}
	s, err := l.Model.Score(ctx, reqs)
	if err != nil {
		return abi.Localization{}, fmt.Errorf("prm: scoring %d prefixes: %w", n+1, err)
	}
	if len(s) != n+1 {
		return abi.Localization{}, fmt.Errorf("prm: the reward model returned %d scores for %d prefixes", len(s), n+1)
	}
	return Pick(s, l.Threshold), nil
}

// Pick applies the rule to the prefix scores s_0..s_n (len(s) >= 2).
func Pick(s []float64, threshold *float64) abi.Localization {
	if threshold != nil {
		for k := 1; k < len(s); k++ {
			if s[k] < *threshold {
				return abi.Localization{Step: k, Detail: fmt.Sprintf("step %d: prefix score %.4g < threshold %.4g", k, s[k], *threshold)}
			}
		}
	}
	best, drop := 0, 0.0
	for k := 1; k < len(s); k++ {
		if d := s[k-1] - s[k]; d > drop {
			best, drop = k, d
		}
	}
	var loc abi.Localization
	if best == 0 {
		loc.Detail = fmt.Sprintf("no prefix score drops (scores %.4g)", s)
	} else {
		loc = abi.Localization{Step: best, Detail: fmt.Sprintf("step %d: largest drop %.4g (%.4g -> %.4g)", best, drop, s[best-1], s[best])}
	}
	if threshold != nil {
		loc.Fallback = FallbackLargestDrop
		loc.Detail += fmt.Sprintf("; none below %.4g", *threshold)
	}
	return loc
}

var _ host.Localizer = (*Localizer)(nil)
