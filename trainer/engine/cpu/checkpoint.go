package cpu

import (
	"fmt"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/ckpt"
)

// Files that Save writes besides the Hugging Face checkpoint.
const (
	TokenizerFile = ckpt.TokenizerFile
	OptimizerFile = ckpt.OptimizerFile // AdamW moments: "m.<name>", "v.<name>"
	StateFile     = ckpt.StateFile
	stateFormat   = "rewind-cpu/1"
)

// state is the engine state beside the weights. Generation draws from
// per-request seeds and the engine holds no other random stream, so Seed is
// its whole random state.
type state struct {
	ckpt.Header
	Blas string `json:"blas"`
}

// Save implements engine.Policy. It writes config.json, model.safetensors
// (float32, Hugging Face names), tokenizer.json, optimizer.safetensors and
// state.json into a temporary directory beside dir and renames it into
// place, replacing an existing dir; a crash leaves either the old or the
// new checkpoint (plus, at worst, a stray temporary directory).
func (p *Policy) Save(dir string) error {
	lay := p.net.lay
	err := ckpt.Save(dir, ckpt.Checkpoint{
		Config:          p.cfg,
		Weights:         lay.toTensors(p.params, ""),
		M:               lay.toTensors(p.m, ""),
		V:               lay.toTensors(p.v, ""),
		Tokenizer:       p.tok,
		TokenizerSource: p.tokSource,
		State:           &state{Header: ckpt.Header{Format: stateFormat, Step: p.step, Seed: p.seed, Optim: p.opt}, Blas: p.BLAS()},
	})
	if err != nil {
		return err
	}
	p.tokSource = dir
	return nil
}

// Open loads a policy from opts.Init, or from opts.Dir: a Hugging Face checkpoint folder
// (config.json, model.safetensors, tokenizer.json) or one written by Save,
// whose optimiser moments and step are restored too (opts.Optim and
// opts.Seed, when left zero, are taken from its state.json), unless
// opts.WeightsOnly is set. Extra settings: "max_batch" (requests in flight
// in Generate, default DefaultMaxBatch) and "token_budget" (tokens per
// forward/backward pass, default DefaultTokenBudget).
func Open(opts engine.Options) (*Policy, error) {
	cfg, ws, tok, _, err := ckpt.Model(opts)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	var st state
	found, err := ckpt.ReadState(&opts, stateFormat, &st)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p, err := newPolicy(cfg, tok, ws, opts)
	if err != nil {
		return nil, err
	}
	p.tokSource = opts.Dir
	if !found {
		return p, nil
	}
	if err := p.loadMoments(opts.Dir); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p.step = st.Step
	return p, nil
}

// loadMoments copies the saved AdamW moments into p.m and p.v.
func (p *Policy) loadMoments(dir string) error {
	lay := p.net.lay
	names, sizes := make([]string, len(lay.segs)), make([]int, len(lay.segs))
	for i, s := range lay.segs {
		names[i], sizes[i] = s.spec.Name, numel(s.spec.Shape)
	}
	m, v, err := ckpt.ReadMoments(dir, names, sizes)
	if err != nil {
		return err
	}
	for i, s := range lay.segs {
		copy(p.m[s.off:], m[i])
		copy(p.v[s.off:], v[i])
	}
	return nil
}
