package xla

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Files that Save writes besides the Hugging Face checkpoint (and, with
// LoRA, the PEFT adapter).
const (
	TokenizerFile = "tokenizer.json"
	OptimizerFile = "optimizer.safetensors" // AdamW moments: "m.<name>", "v.<name>" of the trainable tensors
	StateFile     = "state.json"
	stateFormat   = "rewind-xla/1"
)

type state struct {
	Format string       `json:"format"`
	Step   int          `json:"step"`
	Seed   uint64       `json:"seed"`
	Optim  engine.Optim `json:"optim"`
	LoRA   bool         `json:"lora"`
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
func (p *Policy) Save(dir string) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	base, err := hostTensors(p.base, baseNames(p.cfg), "")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := model.SaveWeights(tmp, p.cfg, base); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if p.arch.lora != nil {
		if err := p.ExportAdapter(tmp); err != nil {
			return fmt.Errorf("save %s: %w", dir, err)
		}
	}
	names := p.trainableNames()
	m, err := hostTensors(p.m, names, "m.")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	v, err := hostTensors(p.v, names, "v.")
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := model.WriteSafetensors(filepath.Join(tmp, OptimizerFile), append(m, v...), map[string]string{"format": stateFormat}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := p.saveTokenizer(tmp); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	b, _ := json.MarshalIndent(state{Format: stateFormat, Step: p.step, Seed: p.seed, Optim: p.opt, LoRA: p.arch.lora != nil}, "", "  ")
	if err := writeSync(filepath.Join(tmp, StateFile), append(b, '\n')); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	var old string
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("save %s: move the previous checkpoint aside: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	p.tokSource = dir
	return nil
}

type tokenizerSaver interface{ Save(dir string) error }

func (p *Policy) saveTokenizer(dir string) error {
	if s, ok := p.tok.(tokenizerSaver); ok {
		return s.Save(dir)
	}
	if p.tokSource == "" {
		return fmt.Errorf("tokenizer %T has no Save(dir) method and was not loaded from a file", p.tok)
	}
	for _, name := range []string{TokenizerFile, "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(p.tokSource, name))
		if errors.Is(err, os.ErrNotExist) && name != TokenizerFile {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		if err := writeSync(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
	}
	return nil
}

func writeSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func init() {
	engine.Register("xla", func(opts engine.Options) (engine.Policy, error) { return Open(opts) })
}

// Open loads a policy from opts.Dir: a Hugging Face checkpoint folder or
// one written by Save (optimiser moments, step and any LoRA adapter are
// restored). A folder holding adapter_config.json loads that adapter on
// top of the base weights. Extra settings: "backend" ("go", the default,
// or "pjrt"), "pjrt_plugin" (absolute path of the PJRT plugin .so),
// "compute_dtype" ("float32" or "bfloat16"), "max_batch", "token_budget",
// "go_parallel" ("true" runs the go backend's ops in parallel), and
// "lora_rank", "lora_alpha" (default 2*rank), "lora_targets" (default
// DefaultLoRATargets).
func Open(opts engine.Options) (*Policy, error) {
	dir := opts.Dir
	if dir == "" {
		return nil, errors.New("xla engine: Options.Dir is empty: point it at a checkpoint folder (config.json, model.safetensors, tokenizer.json)")
	}
	s, err := parseExtra(opts.Extra)
	if err != nil {
		return nil, err
	}
	cfg, err := model.ReadConfig(filepath.Join(dir, model.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	ws, err := model.LoadWeights(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	var factors []*model.Tensor
	spec, saved, err := readAdapter(dir, cfg)
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
	var st *state
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	switch {
	case err == nil:
		st = &state{}
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("xla engine: %s: %w", filepath.Join(dir, StateFile), err)
		}
		if st.Format != stateFormat {
			return nil, fmt.Errorf("xla engine: %s: format %q, want %q (a checkpoint of another engine: open it as a Hugging Face folder by removing %s)", filepath.Join(dir, StateFile), st.Format, stateFormat, StateFile)
		}
		if opts.Optim == (engine.Optim{}) {
			opts.Optim = st.Optim
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	seed := opts.Seed
	if st != nil && seed == 0 {
		seed = st.Seed
	}
	p, err := newPolicy(cfg, tok, ws, factors, opts.Optim, seed, s)
	if err != nil {
		return nil, err
	}
	p.tokSource = dir
	if st == nil {
		return p, nil
	}
	if err := p.loadOptimizer(filepath.Join(dir, OptimizerFile)); err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	p.step = st.Step
	return p, nil
}

func (p *Policy) loadOptimizer(path string) error {
	ts, _, err := model.ReadSafetensors(path)
	if err != nil {
		return err
	}
	names := p.trainableNames()
	for _, mv := range []struct {
		prefix string
		dst    []*tensors.Tensor
	}{{"m.", p.m}, {"v.", p.v}} {
		for i, n := range names {
			t, ok := ts[mv.prefix+n]
			if !ok {
				return fmt.Errorf("%s: tensor %q missing; the checkpoint is incomplete (delete %s to restart the optimiser)", path, mv.prefix+n, StateFile)
			}
			if len(t.Data) != mv.dst[i].Shape().Size() {
				return fmt.Errorf("%s: tensor %q has %d values, want %d", path, mv.prefix+n, len(t.Data), mv.dst[i].Shape().Size())
			}
			mv.dst[i] = tensors.FromFlatDataAndDimensions(t.Data, mv.dst[i].Shape().Dimensions...)
			delete(ts, mv.prefix+n)
		}
	}
	for n := range ts {
		return fmt.Errorf("%s: unexpected tensor %q (a checkpoint of another model, or with another LoRA setting?)", path, n)
	}
	return nil
}
