// Package host loads and runs Rewind's plugins: task verifiers, reward
// models, step segmenters and error localizers, whether they are built in,
// sandboxed WebAssembly modules or separate processes.
//
// The four kinds are the interfaces of package sdk/kinds, aliased here so
// that a plugin implements them without importing the host. Their
// contracts (concurrency, who owns requests and results, what an error
// means) are documented there. Through a Registry, a call that fails
// returns a *PluginError whose Status says how (timeout, crash, trap,
// oversized or malformed output, explicit error), never a made-up result.
package host

import "github.com/rewind-rl/rewind/sdk/kinds"

// Verifier grades one response to a task; see kinds.Verifier. When the
// plugin itself fails (timeout, crash, trap, oversized or malformed
// output) the registry's Verifier returns a *PluginError whose Status says
// which; callers apply the plugin's failure policy to it.
type Verifier = kinds.Verifier

// RewardModel scores a batch of responses, one score per request in
// order; see kinds.RewardModel.
type RewardModel = kinds.RewardModel

// Segmenter splits a response into ordered, non-overlapping step spans;
// see kinds.Segmenter.
type Segmenter = kinds.Segmenter

// Localizer picks the step of a failed trajectory to reset to; see
// kinds.Localizer.
type Localizer = kinds.Localizer
