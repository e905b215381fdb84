// Package localize chooses the step of a failed trajectory that a reset
// resamples: the self localizer of SRPO (the policy names the first
// erroneous step of its own solution) and an adapter for the host's
// localizer plugins (random for RRPO, oracle, first, or any user plugin).
//
// Every localizer returns a step k in 1..n for every request, applying the
// fallbacks of docs/method.md, and says which fallback fired so that the run can
// count them. Localization tokens are never trained on.
package localize

import (
	"context"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Request is one failed trajectory to localize.
type Request struct {
	Task abi.Task
	// Response is the trajectory's text.
	Response string
	// Steps are the texts of the trajectory's steps, delimiters included
	// (the self localizer strips them); len(Steps) >= 1.
	Steps []string
	// Spans are the steps' byte spans in Response, for plugins.
	Spans []abi.Span
	// Verdict is the verifier's verdict of Response (the oracle reads its
	// FirstError).
	Verdict *abi.Verdict
	// Seed makes the request reproducible.
	Seed uint64
	// Stats are the steps' sampling statistics (one per step), or nil
	// (see abi.LocalizeRequest.StepStats).
	Stats []abi.StepStats
}

// Fallback names. An empty Fallback means the localizer's primary answer
// was used.
const (
	// FallbackNoError: the localizer answered 0 ("no erroneous step").
	FallbackNoError = "no-error"
	// FallbackBelowRange: the boxed answer was a negative integer.
	FallbackBelowRange = "below-range"
	// FallbackStepMention: no usable boxed answer; the last "Step N" of
	// the text was in range.
	FallbackStepMention = "step-mention"
	// FallbackDefault: nothing usable in the text; step 1.
	FallbackDefault = "default"
	// FallbackOutOfRange: a plugin answered a step above n; step 1.
	FallbackOutOfRange = "out-of-range"
	// FallbackError: the localizer failed; step 1.
	FallbackError = "error"
)

// Result is the localization of one request.
type Result struct {
	// Step is the step to reset to, in 1..n: the prefix is steps 1..Step-1.
	Step int `json:"step"`
	// Answer is what the localizer said before fallbacks: the integer in
	// the boxed answer or the plugin's Step; -1 when there was none.
	Answer int `json:"answer"`
	// Fallback names the rule that produced Step; empty when the answer
	// was used as is.
	Fallback string `json:"fallback,omitempty"`
	// Text is the generated localization (self) or the plugin's detail.
	Text string `json:"text,omitempty"`
	// Tokens counts generated tokens (self only).
	Tokens int `json:"tokens"`
	// Status is abi.StatusOK, or the status of a failed plugin call.
	Status abi.Status `json:"status"`
	// Error is the failed call's message, if any.
	Error string `json:"error,omitempty"`
}

// Localizer localizes a batch of failed trajectories.
//
// Localize returns one Result per request, in order. A failure of one
// request is reported in its Result (Step 1, FallbackError); the error
// return is for failures of the whole batch (a cancelled context, a broken
// policy), after which the results are nil. Implementations are safe for
// use by one goroutine at a time.
type Localizer interface {
	Localize(ctx context.Context, reqs []Request) ([]Result, error)
}
