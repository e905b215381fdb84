package cpu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Files that Save writes besides the Hugging Face checkpoint.
const (
	TokenizerFile = "tokenizer.json"
	OptimizerFile = "optimizer.safetensors" // AdamW moments: "m.<name>", "v.<name>"
	StateFile     = "state.json"
	stateFormat   = "rewind-cpu/1"
)

// state is the engine state beside the weights. Generation draws from
// per-request seeds and the engine holds no other random stream, so Seed is
// its whole random state.
type state struct {
	Format string       `json:"format"`
	Step   int          `json:"step"`
	Seed   uint64       `json:"seed"`
	Optim  engine.Optim `json:"optim"`
	Blas   string       `json:"blas"`
}

// tokenizerSaver is the optional capability of a tokenizer that writes its
// own tokenizer.json (and companions) into a directory, as
// *tokenizer.HF does.
type tokenizerSaver interface {
	Save(dir string) error
}

// Save implements engine.Policy. It writes config.json, model.safetensors
// (float32, Hugging Face names), tokenizer.json, optimizer.safetensors and
// state.json into a temporary directory beside dir and renames it into
// place, replacing an existing dir; a crash leaves either the old or the
// new checkpoint (plus, at worst, a stray temporary directory).
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
	lay := p.net.lay
	if err := model.SaveWeights(tmp, p.cfg, lay.toTensors(p.params, "")); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	opt := append(lay.toTensors(p.m, "m."), lay.toTensors(p.v, "v.")...)
	if err := model.WriteSafetensors(filepath.Join(tmp, OptimizerFile), opt, map[string]string{"format": stateFormat}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := p.saveTokenizer(tmp); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	b, _ := json.MarshalIndent(state{Format: stateFormat, Step: p.step, Seed: p.seed, Optim: p.opt, Blas: p.BLAS()}, "", "  ")
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
	if d, err := os.Open(parent); err == nil {
		d.Sync()
		d.Close()
	}
	p.tokSource = dir
	return nil
}

// saveTokenizer writes the tokenizer into dir: by its own Save method when
// it has one, else by copying the files it was loaded from.
func (p *Policy) saveTokenizer(dir string) error {
	if s, ok := p.tok.(tokenizerSaver); ok {
		return s.Save(dir)
	}
	if p.tokSource == "" {
		return fmt.Errorf("tokenizer %T has no Save(dir) method and was not loaded from a file", p.tok)
	}
	for _, name := range []string{TokenizerFile, "tokenizer_config.json"} {
		src := filepath.Join(p.tokSource, name)
		b, err := os.ReadFile(src)
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

// open loads a Hugging Face checkpoint folder, or one written by Save (then
// the optimiser moments and step are restored too, and opts.Optim, when
// left zero, is taken from state.json).
func open(opts engine.Options, loadTok func(path string) (tokenizer.Tokenizer, error)) (*Policy, error) {
	dir := opts.Dir
	if dir == "" {
		return nil, errors.New("cpu engine: Options.Dir is empty: point it at a checkpoint folder (config.json, model.safetensors, tokenizer.json)")
	}
	cfg, err := model.ReadConfig(filepath.Join(dir, model.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	ws, err := model.LoadWeights(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	tok, err := loadTok(dir)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	var st *state
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	switch {
	case err == nil:
		st = &state{}
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("cpu engine: %s: %w", filepath.Join(dir, StateFile), err)
		}
		if st.Format != stateFormat {
			return nil, fmt.Errorf("cpu engine: %s: format %q, want %q", filepath.Join(dir, StateFile), st.Format, stateFormat)
		}
		if opts.Optim == (engine.Optim{}) {
			opts.Optim = st.Optim
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p, err := newPolicy(cfg, tok, ws, opts)
	if err != nil {
		return nil, err
	}
	p.tokSource = dir
	if st == nil {
		return p, nil
	}
	if err := p.loadOptimizer(filepath.Join(dir, OptimizerFile)); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p.step = st.Step
	if opts.Seed == 0 {
		p.seed = st.Seed
	}
	return p, nil
}

func (p *Policy) loadOptimizer(path string) error {
	ts, _, err := model.ReadSafetensors(path)
	if err != nil {
		return err
	}
	lay := p.net.lay
	for _, mv := range []struct {
		prefix string
		dst    []float32
	}{{"m.", p.m}, {"v.", p.v}} {
		for _, s := range lay.segs {
			name := mv.prefix + s.spec.Name
			t, ok := ts[name]
			if !ok {
				return fmt.Errorf("%s: tensor %q missing; the checkpoint is incomplete (delete %s to restart the optimiser)", path, name, StateFile)
			}
			if n := numel(s.spec.Shape); len(t.Data) != n {
				return fmt.Errorf("%s: tensor %q has %d values, want %d", path, name, len(t.Data), n)
			}
			copy(mv.dst[s.off:], t.Data)
			delete(ts, name)
		}
	}
	for name := range ts {
		return fmt.Errorf("%s: unexpected tensor %q (a checkpoint of another model?)", path, strings.TrimSpace(name))
	}
	return nil
}
