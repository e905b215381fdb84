package xla

import (
	"errors"
	"fmt"
	"os"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/ckpt"
	"github.com/rewind-rl/rewind/trainer/model"
)

// Files that Save writes besides the Hugging Face checkpoint (and, with
// LoRA, the PEFT adapter).
const (
	TokenizerFile = ckpt.TokenizerFile
	OptimizerFile = ckpt.OptimizerFile // AdamW moments: "m.<name>", "v.<name>" of the trainable tensors
	StateFile     = ckpt.StateFile
	stateFormat   = "rewind-xla/1"
)

type state struct {
	ckpt.Header
	LoRA bool `json:"lora"`
}

func hostTensors(ts []*tensors.Tensor, names []string, prefix string) ([]*model.Tensor, error) {
	out := make([]*model.Tensor, len(ts))
	for i, t := range ts {
		d, err := toHost(t)
		if err != nil {
			return nil, err
		}
		out[i] = &model.Tensor{Name: prefix + names[i], Shape: t.Shape().Dimensions, Data: d}
	}
	return out, nil
}

func baseNames(c model.Config) []string {
	var n []string
	for _, s := range c.Params() {
		n = append(n, s.Name)
	}
	return n
}

// ExportAdapter writes the LoRA adapter in HF PEFT's layout
// (adapter_model.safetensors with names like
// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", and
// adapter_config.json) into dir, which is created if needed.
func (p *Policy) ExportAdapter(dir string) error {
	if p.arch.lora == nil {
		return errors.New("export adapter: this policy has no LoRA adapter (set extra lora_rank)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export adapter: %w", err)
	}
	f, err := hostTensors(p.lora, p.trainableNames(), "")
	if err != nil {
		return fmt.Errorf("export adapter: %w", err)
	}
	return p.arch.lora.writeAdapter(dir, f, p.tokSource)
}

// Save implements engine.Policy: config.json and model.safetensors (the
// base weights, float32, Hugging Face names), the PEFT adapter files when
// LoRA is on, tokenizer.json, optimizer.safetensors and state.json, written
// into a temporary directory beside dir and renamed into place.
func (p *Policy) Save(dir string) error {
	base, err := hostTensors(p.base, baseNames(p.cfg), "")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	names := p.trainableNames()
	m, err := hostTensors(p.m, names, "")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	v, err := hostTensors(p.v, names, "")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	c := ckpt.Checkpoint{Config: p.cfg, Weights: base, M: m, V: v, Tokenizer: p.tok, TokenizerSource: p.tokSource,
		State: &state{Header: ckpt.Header{Format: stateFormat, Step: p.step, Seed: p.seed, Optim: p.opt}, LoRA: p.arch.lora != nil}}
	if p.arch.lora != nil {
		c.Extra = p.ExportAdapter
	}
	if err := ckpt.Save(dir, c); err != nil {
		return err
	}
	p.tokSource = dir
	return nil
}

func init() {
	engine.Register("xla", func(opts engine.Options) (engine.Policy, error) { return Open(opts) })
}

// Open loads a policy from opts.Init, or from opts.Dir: a Hugging Face checkpoint folder or
// one written by Save (optimiser moments, step and any LoRA adapter are
// restored). A folder holding adapter_config.json loads that adapter on
// top of the base weights. Extra settings: "backend" ("go", the default,
// or "pjrt"), "pjrt_plugin" (absolute path of the PJRT plugin .so),
// "compute_dtype" ("float32" or "bfloat16"), "max_batch", "token_budget",
// "go_parallel" ("true" runs the go backend's ops in parallel), and
// "lora_rank", "lora_alpha" (default 2*rank), "lora_targets" (default
// DefaultLoRATargets).
func Open(opts engine.Options) (*Policy, error) {
	s, err := parseExtra(opts.Extra)
	if err != nil {
		return nil, err
	}
	cfg, ws, tok, fromDir, err := ckpt.Model(opts)
	if err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	dir := opts.Dir
	var factors []*model.Tensor
	var spec *loraSpec
	var saved []*model.Tensor
	err = os.ErrNotExist // a model in memory has no adapter beside it
	if fromDir {
		spec, saved, err = readAdapter(dir, cfg)
	}
	switch {
	case err == nil:
		if s.lora != nil && (s.lora.Rank != spec.Rank || s.lora.Alpha != spec.Alpha) {
			return nil, fmt.Errorf("xla engine: %s holds a LoRA adapter (r=%d, alpha=%v) that differs from extra lora_rank/lora_alpha (r=%d, alpha=%v): drop the extra settings to continue it", dir, spec.Rank, spec.Alpha, s.lora.Rank, s.lora.Alpha)
		}
		s.lora, factors = spec, saved
	case errors.Is(err, os.ErrNotExist):
		if s.lora != nil {
			factors = s.lora.init(cfg, opts.Seed)
		}
	default:
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	var st state
	found, err := ckpt.ReadState(&opts, stateFormat, &st)
	if err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	p, err := newPolicy(cfg, tok, ws, factors, opts.Optim, opts.Seed, s)
	if err != nil {
		return nil, err
	}
	p.tokSource = dir
	if !found {
		return p, nil
	}
	if err := p.loadMoments(dir); err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	p.step = st.Step
	return p, nil
}

// loadMoments replaces p.m and p.v by the saved AdamW moments.
func (p *Policy) loadMoments(dir string) error {
	sizes := make([]int, len(p.m))
	for i, t := range p.m {
		sizes[i] = t.Shape().Size()
	}
	m, v, err := ckpt.ReadMoments(dir, p.trainableNames(), sizes)
	if err != nil {
		return err
	}
	for i := range p.m {
		p.m[i] = tensors.FromFlatDataAndDimensions(m[i], p.m[i].Shape().Dimensions...)
		p.v[i] = tensors.FromFlatDataAndDimensions(v[i], p.v[i].Shape().Dimensions...)
	}
	return nil
}
