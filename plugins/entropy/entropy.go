// Package entropy is the built-in `entropy` localizer: it resets where the
// policy was least sure of what it wrote, read from the per-step
// statistics the trainer sends (abi.LocalizeRequest.StepStats).
//
// The answer is the first step whose mean token entropy is above
// options.threshold; when no step is, or no threshold is set, it is the
// step of largest mean entropy (the earliest of equal ones), reported with
// Fallback "largest-entropy" when a threshold was set. Steps with no
// token of their own are never chosen.
//
//	localizer: {name: entropy}
//	plugins:
//	  entropy: {builtin: entropy, options: {threshold: 1.5}}
//
// Options:
//
//	threshold  number > 0, in nats; optional (absent: the largest entropy)
package entropy

import (
	"context"
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/internal/options"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// Name is the builtin's registered name.
const Name = "entropy"

// FallbackLargest is the Fallback of an answer taken as the largest
// entropy because no step was above the threshold.
const FallbackLargest = "largest-entropy"

// ErrNoEntropy is returned for a request without entropies: the trainer
// sends them (both engines report them); a request built by hand must
// carry step_stats with mean_entropy.
var ErrNoEntropy = errors.New("entropy: the request has no step_stats with mean_entropy (rewind train sends them; a hand-made request must include them)")

func init() {
	host.RegisterBuiltin(abi.KindLocalizer, Name, func(m map[string]any) (any, error) { return New(m) })
}

// Localizer picks the first step above Threshold, else the largest.
type Localizer struct {
	// Threshold in nats; 0: none (the largest mean entropy).
	Threshold float64
}

// New builds the localizer from its options.
func New(m map[string]any) (Localizer, error) {
	r := options.New(m)
	var l Localizer
	if t, ok := r.Float("threshold"); ok {
		if t <= 0 {
			r.Fail("threshold", "must be > 0 nats (leave it out to take the step of largest entropy), got %v", t)
		}
		l.Threshold = t
	}
	return l, r.Err()
}

// Localize implements host.Localizer.
func (l Localizer) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if len(req.Steps) == 0 {
		return abi.Localization{}, errors.New("entropy: the request has no steps")
	}
	if len(req.StepStats) != len(req.Steps) {
		if len(req.StepStats) == 0 {
			return abi.Localization{}, ErrNoEntropy
		}
		return abi.Localization{}, fmt.Errorf("entropy: %d step_stats for %d steps", len(req.StepStats), len(req.Steps))
	}
	best, bestH := 0, 0.0
	for k, st := range req.StepStats {
		if st.Tokens == 0 {
			continue
		}
		if st.MeanEntropy == nil {
			return abi.Localization{}, ErrNoEntropy
		}
		h := *st.MeanEntropy
		if l.Threshold > 0 && h > l.Threshold {
			return abi.Localization{Step: k + 1, Detail: fmt.Sprintf("step %d: mean entropy %.4g nats > threshold %.4g", k+1, h, l.Threshold)}, nil
		}
		if best == 0 || h > bestH {
			best, bestH = k+1, h
		}
	}
	if best == 0 {
		return abi.Localization{}, errors.New("entropy: no step has a token of its own")
	}
	loc := abi.Localization{Step: best, Detail: fmt.Sprintf("step %d: largest mean entropy %.4g nats", best, bestH)}
	if l.Threshold > 0 {
		loc.Fallback = FallbackLargest
		loc.Detail += fmt.Sprintf(" (none above %.4g)", l.Threshold)
	}
	return loc, nil
}

var _ host.Localizer = Localizer{}
