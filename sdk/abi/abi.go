// Package abi holds the messages that the Rewind host and its plugins
// exchange, whatever the transport: JSON over the Wasm ABI (see ../ABI.md)
// or the same fields over gRPC (see ../proto). It has no dependency on the
// host so that guests compiled to wasip1 can import it.
//
// Offsets are byte offsets into the response text; step numbers are 1-based.
package abi

import "encoding/json"

// Version is the ABI version that this package describes. A module that
// reports another version from rewind_abi_version is refused at load time.
const Version = 1

// Kind names a plugin kind.
type Kind string

// The plugin kinds.
const (
	KindVerifier    Kind = "verifier"
	KindRewardModel Kind = "reward_model"
	KindSegmenter   Kind = "segmenter"
	KindLocalizer   Kind = "localizer"
)

// Task is one benchmark instance. Answer and Meta are opaque to the host:
// only the verifier of that benchmark interprets them.
type Task struct {
	ID     string          `json:"id"`
	Prompt string          `json:"prompt"`
	Answer json.RawMessage `json:"answer,omitempty"`
	Meta   json.RawMessage `json:"meta,omitempty"`
}

// Span is the half-open byte range [Start, End) of one step in a response.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Status says how far a verdict can be trusted. Plugins report StatusOK,
// StatusAbstain or StatusInvalid; the host reports the others when a call
// fails, so a failure is never mistaken for a score of 0.
type Status string

// Verdict statuses.
const (
	// StatusOK: Score is the verifier's judgement (a wrong answer is OK with score 0).
	StatusOK Status = "ok"
	// StatusAbstain: the verifier declines to judge this response (for
	// example an answer format it does not handle). No reward is given.
	StatusAbstain Status = "abstain"
	// StatusInvalid: the task itself is unusable (for example a malformed
	// ground truth). No reward is given.
	StatusInvalid Status = "invalid"

	// Host-assigned statuses.
	StatusTimeout   Status = "timeout"   // the call ran past its deadline
	StatusCrash     Status = "crash"     // the process died or the connection broke
	StatusTrap      Status = "trap"      // the Wasm guest trapped (includes out of memory)
	StatusOversized Status = "oversized" // the output was larger than the plugin's cap
	StatusMalformed Status = "malformed" // the output did not decode or broke the contract
	StatusError     Status = "error"     // the plugin returned an explicit error
)

// Usable reports whether a verdict with this status carries a reward that
// may be trained on.
func (s Status) Usable() bool { return s == StatusOK }

// VerifyRequest asks a verifier to grade one response.
type VerifyRequest struct {
	Task     Task   `json:"task"`
	Response string `json:"response"`
	// Steps are the response's step spans when the host has segmented it;
	// process verifiers use them to report per-step correctness.
	Steps []Span `json:"steps,omitempty"`
}

// Verdict is a verifier's judgement of one response.
type Verdict struct {
	// Score is in [0, 1]. It is meaningful only when Status is StatusOK.
	Score  float64 `json:"score"`
	Status Status  `json:"status"`
	// StepCorrect, when present, has one entry per step of the request.
	StepCorrect []bool `json:"step_correct,omitempty"`
	// FirstError is reported by process verifiers: nil means "not
	// reported", 0 means "no step is wrong", k >= 1 is the first wrong step.
	FirstError *int `json:"first_error,omitempty"`
	// Detail is free text for logs (for example the extracted answer).
	Detail string `json:"detail,omitempty"`

	// Filled by the host, never by the plugin.
	Plugin string `json:"plugin,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // of the Wasm module or plugin executable; "builtin" for native code
}

// ScoreRequest asks a reward model to score one response.
type ScoreRequest struct {
	Task     Task   `json:"task"`
	Response string `json:"response"`
}

// SegmentRequest asks a segmenter to split a response into steps.
type SegmentRequest struct {
	Response string `json:"response"`
}

// LocalizeRequest asks a localizer which step of a failed trajectory to
// reset to.
type LocalizeRequest struct {
	Task     Task   `json:"task"`
	Response string `json:"response"`
	// Steps are the step spans of Response (at least one).
	Steps []Span `json:"steps"`
	// Verdict is the verifier's verdict of Response; the oracle localizer
	// reads its FirstError.
	Verdict *Verdict `json:"verdict,omitempty"`
	// Seed makes randomised localizers reproducible.
	Seed uint64 `json:"seed"`
	// StepStats, when present, has one entry per step: statistics of the
	// step's tokens under the policy that sampled them. The trainer
	// computes them from the log-probs (and entropies) it kept at
	// sampling time; a request built by hand (rewind plugin test, a
	// test) may leave them out. Added within ABI version 1: older guests
	// ignore the key.
	StepStats []StepStats `json:"step_stats,omitempty"`
}

// StepStats are statistics of one step's sampled tokens, at temperature 1
// (before temperature, top-k and top-p, like the log-probs training uses).
// Log-probs and entropies are in nats.
type StepStats struct {
	// Tokens is the number of tokens in the step (at least 1).
	Tokens int `json:"tokens"`
	// MeanLogProb is the mean over the step's tokens of log pi(token).
	MeanLogProb float64 `json:"mean_logprob"`
	// MinLogProb is the smallest log pi(token) of the step: its least
	// likely token.
	MinLogProb float64 `json:"min_logprob"`
	// MeanEntropy is the mean over the step's tokens of the entropy of
	// the distribution each was drawn from; nil when the engine reported
	// no entropies.
	MeanEntropy *float64 `json:"mean_entropy,omitempty"`
}

// Localization is a localizer's answer.
type Localization struct {
	// Step is in 1..len(Steps); 0 means "no erroneous step found", which
	// the trainer treats as a reset to step 1 (an empty prefix).
	Step int `json:"step"`
	// Confidence in [0, 1], when the localizer has one.
	Confidence float64 `json:"confidence,omitempty"`
	// Fallback names the rule that produced Step when the primary method
	// failed (for example "last-step-mention"); empty otherwise.
	Fallback string `json:"fallback,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Manifest describes a plugin. Wasm modules embed it in the custom section
// "rewind.manifest" or ship it beside the module as NAME.manifest.json.
type Manifest struct {
	ABI          int      `json:"abi"`
	Kind         Kind     `json:"kind"`
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Description  string   `json:"description,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	// Limits the plugin asks for. A limit set in the host's config wins;
	// otherwise the manifest may ask for less than the host's default,
	// never more (see ABI.md, section 3, "Manifest").
	Limits *Limits `json:"limits,omitempty"`
}

// Limits bound one plugin. Zero fields take the host's defaults.
type Limits struct {
	MemoryMiB     int `json:"memory_mib,omitempty"`
	TimeoutMillis int `json:"timeout_ms,omitempty"`
	MaxOutputKiB  int `json:"max_output_kib,omitempty"`
}
