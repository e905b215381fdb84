// Package kinds declares the Go interfaces of Rewind's four plugin kinds:
// Verifier, RewardModel, Segmenter and Localizer. They are declared here
// once; package host aliases them (host.Verifier is kinds.Verifier) and
// package sdk/serve serves values of these types as process plugins, so a
// plugin written against this package works compiled into the trainer as a
// builtin, in a separate process, or (through sdk/guest) as Wasm.
//
// The package depends on the standard library and sdk/abi only, so a
// plugin that implements a kind links neither the host (its Wasm runtime,
// config loader and registry) nor gRPC, and the package compiles to wasip1.
//
// Every method takes the call's context first and its request by pointer.
// The rules shared by all four kinds:
//
//   - Concurrency: an implementation must be safe for concurrent use; the
//     trainer calls it from many goroutines at once.
//   - Requests: the caller owns *req (and the slices in it). An
//     implementation reads it during the call, does not modify it, and
//     keeps nothing of it after returning except strings, which are
//     immutable. req is never nil.
//   - Results: the caller owns what is returned; an implementation must not
//     keep or modify a returned slice after returning it.
//   - Errors: a non-nil error means "no result", never a made-up one; a
//     judgement that happens to be negative (a wrong answer, no erroneous
//     step) is a result, not an error. The host records an error as a
//     failed call and applies the plugin's failure policy.
//   - Cancellation: an implementation that can block (a remote call, a
//     long computation) returns promptly when ctx is done, with ctx.Err()
//     or an error wrapping it.
//
// A value passed through host.Registry is checked against these contracts
// after each call (a result that breaks them fails with status malformed).
package kinds

import (
	"context"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Verifier grades one response to a task.
//
// Status is always set: a wrong answer is a Verdict with Status
// abi.StatusOK and Score 0; Score is in [0, 1]. A verifier that cannot judge returns abi.StatusAbstain (it
// declines this response) or abi.StatusInvalid (the task itself is
// unusable), with a nil error. StepCorrect, when set, has one entry per
// req.Steps; FirstError, when set, is in 0..len(req.Steps). The Plugin and SHA256 fields of the verdict are the host's to
// fill; an implementation leaves them empty.
type Verifier interface {
	Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error)
}

// RewardModel scores a batch of responses. The result has exactly one
// score per request, in order, each finite; scores are not bounded to
// [0, 1]. An empty batch has an empty (or nil) result.
type RewardModel interface {
	Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error)
}

// Segmenter splits a response into steps. The spans are ordered, do not
// overlap and lie within req.Response, each non-empty; text between spans
// (whitespace) is allowed. A response with no recognisable step is one
// span covering it; an empty response has no spans (a nil result).
type Segmenter interface {
	Segment(ctx context.Context, req *abi.SegmentRequest) ([]abi.Span, error)
}

// Localizer picks the step of a failed trajectory to reset to. The
// result's Step is in 1..len(req.Steps), or 0 for "no erroneous step
// found" (the trainer then resets to step 1); Confidence, when set, is in
// [0, 1]. A localizer that uses
// randomness draws it from req.Seed, so that a run is reproducible.
type Localizer interface {
	Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error)
}
