// Package model describes a Llama/Qwen2-family decoder-only transformer: its
// configuration (read from and written to a Hugging Face config.json, or
// built from a preset), the names and shapes of its parameters in Hugging
// Face layout, and safetensors checkpoints. It holds no compute: engines
// (trainer/engine/...) implement the forward and backward passes.
//
// The decoder is a Config; Config.Params names its parameters in Hugging
// Face layout. Engines code against both.
//
// # Configuration
//
// `ReadConfig` reads a Hugging Face `config.json` of `model_type` `qwen2` or `llama`.
// It accepts both places RoPE theta lives (`rope_theta` at top level, as transformers 4
// writes, and `rope_parameters.rope_theta`, as transformers 5 does), `head_dim` when
// given (else `hidden_size / num_attention_heads`), `num_key_value_heads` (default: MHA),
// and an EOS that is null, a number or a list (the first id is used). Anything the
// engines do not implement is an error naming the field, never silently ignored:
// `rope_scaling`, a `rope_type` other than `default`, sliding-window attention,
// `mlp_bias`, an activation other than SiLU, llama's `attention_bias` (which also adds
// an o_proj bias). Every missing or inconsistent field is reported at once.
//
// `WriteConfig` writes a config that transformers 4 and 5 both load
// (`Qwen2ForCausalLM` / `LlamaForCausalLM`, both RoPE spellings, `dtype` and
// `torch_dtype`). Presets for from-scratch training (`nano` for tests, `tiny` ≈0.4M
// parameters with d_model 128, 2 layers, 4 heads, context 128; `small` ≈25M with
// d_model 512, 8 layers) leave `VocabSize` at 0, so `Validate` fails until the caller
// sets it from the tokenizer with `WithVocab`. They are qwen2-type (q/k/v biases) with
// tied embeddings, except `nano`, which is untied and uses GQA so that tests cover
// every parameter kind.
//
// # Safetensors
//
// `ReadSafetensors` converts F32, F64, BF16 and F16 to float32 (F16 exactly,
// including subnormals: checked over all 65,536 values). The header is validated as
// the reference implementation does, and every problem is an error wrapping
// `ErrMalformed` that names the tensor: header length over 100 MB or past the end of
// the file, non-object JSON, unknown dtypes, negative or overflowing shapes, byte
// sizes that do not match dtype × shape, offsets that overlap, leave gaps or run past
// the data, trailing bytes. Reading uses `ReadAt` after validation, so a lying header
// cannot make it allocate more than the file holds. `FuzzReadSafetensors` checks that
// no input panics and that whatever is accepted re-encodes to an equal file.
//
// `WriteSafetensors` writes F32 with tensors sorted by name (what the reference
// writer does for one dtype), the header space-padded to 8 bytes, `{"format": "pt"}`
// metadata from `SaveWeights` (transformers refuses files without a known format),
// atomically: temporary file in the same directory, fsync, rename, directory fsync.
//
// # Weights
//
// `LoadWeights(dir, cfg)` reads `model.safetensors` or the shards of
// `model.safetensors.index.json`, and returns tensors in `cfg.Params()` order. All
// problems are listed together, each naming the file and tensor and what to do: a
// missing tensor (for a missing `lm_head.weight` it suggests `tie_word_embeddings`),
// an unexpected one, a shape mismatch ("check that config.json belongs to these
// weights"). With tied embeddings a stored `lm_head.weight` is accepted only when
// equal to the embedding; `rotary_emb.inv_freq` buffers from old exporters are
// ignored. `InitWeights` draws N(0, 0.02²) for matrices (transformers'
// `initializer_range`), ones for norms, zeros for biases, each tensor from its own
// PCG stream keyed by seed and position.
package model
