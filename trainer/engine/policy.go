// Package engine defines the Policy that the trainer samples from and
// updates, independent of where the computation runs. Engines live in
// sub-packages (cpu, xla) and are chosen by configuration.
package engine

import (
	"context"
	"time"

	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Sampling settings for one request.
type Sampling struct {
	// Temperature 0 means greedy decoding (argmax, ties to the lowest id).
	Temperature float32 `json:"temperature"`
	// TopP in (0, 1) keeps the smallest set of tokens whose probability
	// reaches TopP; 0 or 1 turns it off.
	TopP float32 `json:"top_p"`
	// TopK > 0 keeps the K most probable tokens; 0 turns it off.
	TopK int `json:"top_k"`
	// MaxNewTokens bounds the generated tokens (must be > 0).
	MaxNewTokens int `json:"max_new_tokens"`
	// StopStrings end generation once the decoded new text contains one of
	// them. The stop text is kept in the output: generation stops after the
	// token that completes it.
	StopStrings []string `json:"stop_strings,omitempty"`
	// StopTokens end generation after one of these ids is sampled; the stop
	// token is kept in Tokens.
	StopTokens []int `json:"stop_tokens,omitempty"`
}

// GenRequest asks for one continuation.
type GenRequest struct {
	// Prompt ids; must be non-empty.
	Prompt []int
	// Prefix ids are appended after Prompt and conditioned on as given
	// (never re-tokenised): this is how a reset continues a trajectory.
	// Stop strings are searched in the new text only.
	Prefix   []int
	Sampling Sampling
	// Seed fixes the request's random stream: the same request and seed
	// give the same tokens, whatever else shares the batch.
	Seed uint64
}

// StopReason says why generation ended.
type StopReason string

// Stop reasons.
const (
	StopString StopReason = "stop_string"
	StopToken  StopReason = "stop_token"
	StopLength StopReason = "length"  // MaxNewTokens reached
	StopWindow StopReason = "context" // the model's context length reached
)

// GenResult is one continuation.
type GenResult struct {
	// Tokens are the new ids only (after Prompt and Prefix).
	Tokens []int
	// Text is the decoding of Tokens.
	Text string
	// LogProbs[i] is log pi(Tokens[i]) under the policy at temperature 1
	// (before temperature, top-k or top-p), which is what training uses.
	LogProbs []float32
	// Entropies[i] is the entropy, in nats, of the distribution Tokens[i]
	// was drawn from, at temperature 1 (before temperature, top-k or
	// top-p, like LogProbs): -sum_v pi(v) log pi(v). Both engines fill it
	// (len(Entropies) == len(Tokens)); an engine that does not leaves it
	// nil, and the trainer then gives localizers no entropies.
	Entropies []float32
	Reason    StopReason
}

// Sequence is one training sequence.
type Sequence struct {
	// Tokens is the whole sequence (prompt, prefix and response).
	Tokens []int
	// Weights[t] is the loss weight of predicting Tokens[t] from
	// Tokens[:t]: advantage times mask times the normaliser chosen by the
	// algorithm. Weights[0] must be 0. len(Weights) == len(Tokens).
	Weights []float32
	// OldLogProbs[t] is log pi_old(Tokens[t]); required by LossClip,
	// ignored by LossPG. Entries whose weight is 0 are ignored.
	OldLogProbs []float32
}

// LossKind selects the per-token objective.
type LossKind string

// Loss kinds. With w_t the weight and r_t = exp(logp_t - old_t):
//
//	LossPG:   L = -sum_t w_t * logp_t
//	LossClip: L = -sum_t min(r_t * w_t, clip(r_t, 1-ClipLow, 1+ClipHigh) * w_t)
const (
	LossPG   LossKind = "pg"
	LossClip LossKind = "clip"
)

// Batch is one optimiser step's worth of sequences.
type Batch struct {
	Seqs     []Sequence
	Loss     LossKind
	ClipLow  float32 // e.g. 0.2
	ClipHigh float32 // e.g. 0.2, or 0.28 for DAPO's clip-higher
}

// UpdateStats reports one optimiser step.
type UpdateStats struct {
	Loss     float64 `json:"loss"`
	GradNorm float64 `json:"grad_norm"` // before clipping
	LR       float64 `json:"lr"`
	Tokens   int     `json:"tokens"`         // all positions processed
	Trained  int     `json:"trained_tokens"` // positions with a non-zero weight
	ClipFrac float64 `json:"clip_frac"`      // LossClip: fraction of trained tokens clipped
}

// Policy is a language model that can be sampled from and trained.
// Methods are safe to call from one goroutine at a time; implementations
// parallelise internally.
type Policy interface {
	Tokenizer() tokenizer.Tokenizer
	// Generate runs all requests, batched as the engine sees fit. Results
	// are in request order and depend only on each request and its seed.
	Generate(ctx context.Context, reqs []GenRequest) ([]GenResult, error)
	// LogProbs returns, for each sequence, log pi(seq[t] | seq[:t]) for
	// t >= 1; entry 0 is 0.
	LogProbs(ctx context.Context, seqs [][]int) ([][]float32, error)
	// Update takes one optimiser step on the batch.
	Update(ctx context.Context, b Batch) (UpdateStats, error)
	// Save writes weights (safetensors, Hugging Face names), config,
	// tokenizer, optimiser state and step counter into dir, atomically.
	Save(dir string) error
}

// Logitser is implemented by engines that return full logits (both the
// cpu and the xla engine): rewind model logits and the reference checks
// of enginetest use it.
type Logitser interface {
	// Logits returns the logits of each sequence, [len(seq), vocab]
	// row-major.
	Logits(ctx context.Context, seqs [][]int) ([][]float32, error)
}

// CompileReporter is implemented by engines that compile a program per
// input shape (the xla engine): a run reports the compile time of each
// step beside its other wall-clock times, so a slow first step reads as
// compilation rather than as throughput.
type CompileReporter interface {
	// Compiles lists every compilation so far, oldest first.
	Compiles() []Compile
}

// LimitsReporter is implemented by engines that tell their model's bounds
// before any request (both built-in engines do): a run checks every
// prompt of its dataset against them before step 1, so a prompt too long
// for the context is named by its file and line instead of failing a step
// later. Limits must not change over the policy's life.
type LimitsReporter interface {
	// Limits are the bounds every request and batch is checked against.
	Limits() Limits
}

// Compile is one compiled program: which computation, for which shape
// bucket, and how long building and compiling it took.
type Compile struct {
	Graph    string        `json:"graph"`
	Bucket   string        `json:"bucket"`
	Duration time.Duration `json:"duration"`
}
