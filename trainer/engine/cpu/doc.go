// Package cpu is the hand-written CPU engine: a Llama/Qwen2-family
// transformer with explicit forward and backward passes, AdamW, and a
// batched sampler with a KV cache. Matrix products go through OpenBLAS
// where it is installed (loaded at run time) and gonum otherwise; the
// engine parallelises across cores itself with fixed work partitions, so
// samples and updates are bit-identical whatever GOMAXPROCS is.
//
// Import it for its side effect to register the engine as "cpu":
//
//	import _ "github.com/rewind-rl/rewind/trainer/engine/cpu"
//
// It implements engine.Policy and is checked against Hugging Face
// transformers on the reference checkpoint testdata/hf/qwen2-tiny (logits to
// 4e-7, every gradient).
//
// # Layout of the parameters
//
// All parameters live in one flat `[]float32`; gradients and the two AdamW
// moments use the same layout, so the optimiser, the global gradient norm and
// checkpointing are loops over one slice. Within a layer, `q_proj`, `k_proj`
// and `v_proj` weights are stored back to back (one `[q+2kv, d]` matrix, one
// GEMM) and likewise `gate_proj`/`up_proj` (`[2*inter, d]`). The mapping to
// Hugging Face names (`params.go`) is the only place that knows this; Save
// writes ordinary HF tensors.
//
// # Training pass
//
// A batch is packed end to end (no padding); every linear layer is one GEMM
// over all tokens of the micro-batch. Attention runs per (sequence, head)
// with BLAS calls on strided views of the fused qkv rows; the forward pass
// keeps only the log-sum-exp of each attention row and the backward pass
// recomputes the probabilities (memory O(tokens), not O(tokens x length)).
// The output head runs in chunks of 256 rows, turning logits into
// `dL/dlogits` in place, so a large vocabulary never needs `[N, vocab]`
// memory. The loss enters only through `dL/dlogp_t` per token, which is where
// `pg` and `clip` (PPO-style, with the clip fraction counted) differ.
// Batches above `token_budget` tokens (default 16384) are split into
// micro-batches whose gradients add up in order.
//
// # Determinism
//
// Every parallel loop (`parFor`) cuts its work into chunks whose boundaries
// depend only on the problem's shape, never on `GOMAXPROCS`; each output is
// written by one chunk and reductions over rows (bias, norm-weight and
// gradient-norm sums) run in a fixed order. OpenBLAS is loaded with
// `dlopen` and set to one thread (`openblas_set_num_threads(1)`); the engine
// does the threading. gonum is called on tiles small enough that it never
// takes its parallel path, whose k-blocking would make a row's rounding depend
// on the size of the product. The result: updates and samples are
// bit-identical with GOMAXPROCS 1 and 2 (tested, with both BLAS).
//
// Batch composition is a weaker story. A request's rows share GEMMs with
// other requests; gonum reduces every row in one fixed order, so with gonum a
// request's tokens and log-probs are bit-identical whatever else is in the
// batch. OpenBLAS does not: it computes a row with different kernels depending
// on its position in the product (measured: moving a row within a 64-row
// product changes its last bits at 48 of 63 positions, also with the product
// transposed and with the row count padded to a fixed block), so with OpenBLAS
// a request's log-probs agree across batch compositions to rounding (~1e-7
// relative) and its tokens are the same unless a uniform draw lands within
// rounding of a CDF boundary. Both are tested (`TestBatchComposition`,
// `enginetest.Sampling`). A run is still exactly reproducible: the same
// requests in the same order give the same batches.
//
// # BLAS choice
//
// `internal/blas` has two implementations of one `Sgemm` interface:
//
//   - OpenBLAS through cgo, loaded at run time (`dlopen("libopenblas.so.0")`,
//     no link-time dependency), so one binary uses it where installed and falls
//     back to gonum where not;
//   - gonum's pure-Go `blas32`, always compiled.
//
// `REWIND_BLAS=gonum` forces the fallback, `REWIND_BLAS=openblas` makes a
// missing OpenBLAS an error, and `CGO_ENABLED=0` or `-tags noopenblas` builds
// without any cgo (for the GPU image). Decoding attention (at most 4 new
// queries per sequence) does not use BLAS at all: a cgo call per (sequence,
// head) costs more than the arithmetic. Keys are cached transposed
// (`[kv head][head dim][position]`), so both products (scores = K q and
// output = V^T p) are one GEMV shape, `y = A^T x`, which `internal/vec` runs
// as a register-blocked AVX2/FMA kernel in Go assembly (pure Go on other
// CPUs; both paths tested). Prefill (longer prompts) uses BLAS.
//
// # Sampling
//
// `Generate` keeps up to `max_batch` (default 64) requests in flight; when one
// finishes, its slot and KV cache take the next request, so requests of any
// length share the batch. A new request's prompt and prefix are prefilled in
// the same step as the other slots' single decode tokens. Each request draws
// from its own PCG stream seeded by `GenRequest.Seed`. Log-probs are taken
// from the temperature-1 distribution before top-k/top-p. Stop strings are
// matched incrementally on the raw token bytes (`Tokenizer.TokenBytes`) of the
// new tokens only, so a stop string inside the prompt or prefix never stops
// generation, and the token completing it is kept.
//
// # Checkpoints
//
// `Save(dir)` writes `config.json`, `model.safetensors` (F32, HF names),
// `tokenizer.json` (the tokenizer's own `Save`, or a copy of the files it was
// loaded from), `optimizer.safetensors` (`m.<name>`, `v.<name>`) and
// `state.json` (step, seed, optimiser settings) into a temporary directory and
// renames it over `dir`. `engine.Open("cpu", Options{Dir})` reads an HF folder
// or a saved one (restoring moments and step; `Options.Optim` left zero takes
// the saved settings). With `Options.WeightsOnly` a saved folder is opened as a
// pretrained model: `state.json` and `optimizer.safetensors` are not read, so
// the moments start at zero and the next `Update` is step 1 of `Options.Optim`'s
// schedule (warm-up included). `rewind train` opens `model.path` this way (a
// warm start from `rewind sft` does not carry the SFT step count and moments
// into RL); only its own checkpoints (resume) restore the optimiser.
//
// The checkpoint layout, the atomic folder write, the optimiser-state files,
// the request/batch checks (`engine.Limits`), the LR schedule
// (`engine.Optim.LRAt`, `Optim.Validate`) and the per-request decoding streams
// (`trainer/engine/internal/decode`: seeded RNG, stop rules) are shared with the
// XLA engine (`trainer/engine/internal/ckpt`, `trainer/engine`), so the two
// engines refuse the same inputs with the same messages and stop generation by
// the same rules.
//
// # Known limits
//
//   - Weight decay applies to matrices (embeddings, projections, head), not to
//     norm weights or biases.
//   - Attention in training computes the full T x T square per sequence and
//     masks it (2x the causal work); fine for contexts of a few hundred tokens.
//   - Sampling with top-k or top-p sorts the vocabulary per token.
package cpu
