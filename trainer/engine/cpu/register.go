package cpu

import (
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

func init() {
	engine.Register("cpu", func(opts engine.Options) (engine.Policy, error) { return Open(opts) })
}

// Open loads a policy from opts.Dir: a Hugging Face checkpoint folder
// (config.json, model.safetensors, tokenizer.json) or one written by Save,
// whose optimiser moments and step are restored too. Extra settings:
// "max_batch" (requests in flight in Generate, default DefaultMaxBatch) and
// "token_budget" (tokens per forward/backward pass, default
// DefaultTokenBudget).
func Open(opts engine.Options) (*Policy, error) {
	return open(opts, tokenizer.Load)
}
