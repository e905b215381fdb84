// Package host loads and runs Rewind's plugins: task verifiers, reward
// models, step segmenters and error localizers, whether they are built in,
// sandboxed WebAssembly modules or separate processes.
//
// Every kind is a small context-first interface. Implementations must be
// safe for concurrent use: the trainer calls them from many goroutines.
// A call that fails returns a non-nil error (a *PluginError for failures
// of the plugin itself), never a made-up result.
package host

import (
	"context"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Verifier grades one response to a task.
//
// A wrong answer is a Verdict with Status abi.StatusOK and Score 0. A
// verifier that cannot judge returns StatusAbstain or StatusInvalid. When
// the plugin itself fails (timeout, crash, trap, oversized or malformed
// output) the host returns an error of type *PluginError whose Status says
// which; callers apply the plugin's failure policy to it.
type Verifier interface {
	Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error)
}

// RewardModel scores a batch of responses. The result has one score per
// request, in order. Scores are not bounded to [0, 1].
type RewardModel interface {
	Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error)
}

// Segmenter splits a response into steps. Spans are ordered, do not
// overlap and lie within the response; text between spans (whitespace) is
// allowed. A response with no recognisable step is one span covering it,
// and an empty response has no spans.
type Segmenter interface {
	Segment(ctx context.Context, req abi.SegmentRequest) ([]abi.Span, error)
}

// Localizer picks the step of a failed trajectory to reset to: the result's
// Step is in 1..len(req.Steps), or 0 for "no erroneous step found".
type Localizer interface {
	Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error)
}
