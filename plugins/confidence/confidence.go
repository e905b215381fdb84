// Package confidence is the built-in `confidence` localizer: it resets at
// the step the policy was least confident of, the step whose sampled
// tokens had the lowest mean log-probability, read from the per-step
// statistics the trainer sends (abi.LocalizeRequest.StepStats). Of equal
// steps it takes the earliest; steps with no token of their own are never
// chosen.
//
//	localizer: {name: confidence}
//	plugins:
//	  confidence: {builtin: confidence, options: {statistic: min_logprob}}
//
// Options:
//
//	statistic  mean_logprob (the default) or min_logprob (the step's least
//	           likely token)
package confidence

import (
	"context"
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/internal/options"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// Name is the builtin's registered name.
const Name = "confidence"

// Statistics a Localizer can rank steps by.
const (
	MeanLogProb = "mean_logprob"
	MinLogProb  = "min_logprob"
)

// ErrNoStats is returned for a request without step statistics.
var ErrNoStats = errors.New("confidence: the request has no step_stats (rewind train sends them; a hand-made request must include them)")

func init() {
	host.RegisterBuiltin(abi.KindLocalizer, Name, func(m map[string]any) (any, error) { return New(m) })
}

// Localizer picks the step with the lowest Statistic.
type Localizer struct {
	// Statistic is MeanLogProb or MinLogProb; empty means MeanLogProb.
	Statistic string
}

// New builds the localizer from its options.
func New(m map[string]any) (Localizer, error) {
	r := options.New(m)
	l := Localizer{Statistic: MeanLogProb}
	if s, ok := r.String("statistic"); ok {
		if s != MeanLogProb && s != MinLogProb {
			r.Fail("statistic", "want %s or %s, got %q", MeanLogProb, MinLogProb, s)
		}
		l.Statistic = s
	}
	return l, r.Err()
}

// Localize implements host.Localizer.
func (l Localizer) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if len(req.Steps) == 0 {
		return abi.Localization{}, errors.New("confidence: the request has no steps")
	}
	if len(req.StepStats) != len(req.Steps) {
		if len(req.StepStats) == 0 {
			return abi.Localization{}, ErrNoStats
		}
		return abi.Localization{}, fmt.Errorf("confidence: %d step_stats for %d steps", len(req.StepStats), len(req.Steps))
	}
	stat := l.Statistic
	if stat == "" {
		stat = MeanLogProb
	}
	best, low := 0, 0.0
	for k, st := range req.StepStats {
		if st.Tokens == 0 {
			continue
		}
		v := st.MeanLogProb
		if stat == MinLogProb {
			v = st.MinLogProb
		}
		if best == 0 || v < low {
			best, low = k+1, v
		}
	}
	if best == 0 {
		return abi.Localization{}, errors.New("confidence: no step has a token of its own")
	}
	return abi.Localization{Step: best, Detail: fmt.Sprintf("step %d: lowest %s %.4g", best, stat, low)}, nil
}

var _ host.Localizer = Localizer{}
