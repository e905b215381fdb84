// Package ckpt is the checkpoint folder layout every engine saves and
// opens: a Hugging Face checkpoint (config.json, model.safetensors,
// tokenizer.json) plus the optimiser state (optimizer.safetensors with the
// AdamW moments, state.json with the step counter, seed and settings),
// written atomically. Engines add their own files (the XLA engine's LoRA
// adapter) through Checkpoint.Extra and their own state.json fields by
// embedding Header.
package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Files that Save writes besides config.json and model.safetensors.
const (
	TokenizerFile = "tokenizer.json"
	OptimizerFile = "optimizer.safetensors" // AdamW moments: "m.<name>", "v.<name>"
	StateFile     = "state.json"
)

// tokenizerConfigFile is copied with tokenizer.json when present.
const tokenizerConfigFile = "tokenizer_config.json"

// Header is the part of state.json that every engine writes. An engine's
// state is a struct that embeds Header and adds its own fields; its
// pointer is a State.
type Header struct {
	// Format names the engine and layout version ("rewind-cpu/1"); a
	// folder is only resumed by the engine that wrote it.
	Format string `json:"format"`
	// Step counts the optimiser steps taken: the next Update is Step+1 of
	// Optim's schedule.
	Step int `json:"step"`
	// Seed is the engine's own random state (generation draws from
	// per-request seeds).
	Seed  uint64       `json:"seed"`
	Optim engine.Optim `json:"optim"`
}

func (h *Header) header() *Header { return h }

// State is a pointer to a struct embedding Header (*Header itself will
// do); it is marshalled as state.json.
type State interface{ header() *Header }

// Checkpoint is what Save writes.
type Checkpoint struct {
	Config model.Config
	// Weights are the base weights in Hugging Face names (config.json and
	// model.safetensors).
	Weights []*model.Tensor
	// M and V are the AdamW moments, one per trainable tensor and named
	// like it; they are stored as "m.<name>" and "v.<name>".
	M, V []*model.Tensor
	// Tokenizer is written by its own Save(dir) method when it has one,
	// else tokenizer.json (and tokenizer_config.json, when there is one)
	// are copied from TokenizerSource.
	Tokenizer       tokenizer.Tokenizer
	TokenizerSource string
	// State becomes state.json; its Header's Format also tags
	// optimizer.safetensors.
	State State
	// Extra, when set, writes engine-specific files into the folder
	// being built.
	Extra func(dir string) error
}

// tokenizerSaver is the optional capability of a tokenizer that writes its
// own tokenizer.json (and companions) into a directory, as *tokenizer.HF
// does.
type tokenizerSaver interface {
	Save(dir string) error
}

// Save writes c into dir atomically (see WriteDir).
func Save(dir string, c Checkpoint) error {
	err := WriteDir(dir, func(tmp string) error {
		if err := model.SaveWeights(tmp, c.Config, c.Weights); err != nil {
			return err
		}
		if c.Extra != nil {
			if err := c.Extra(tmp); err != nil {
				return err
			}
		}
		format := c.State.header().Format
		opt := append(prefixed(c.M, "m."), prefixed(c.V, "v.")...)
		if err := model.WriteSafetensors(filepath.Join(tmp, OptimizerFile), opt, map[string]string{"format": format}); err != nil {
			return err
		}
		if err := saveTokenizer(tmp, c.Tokenizer, c.TokenizerSource); err != nil {
			return err
		}
		b, err := json.MarshalIndent(c.State, "", "  ")
		if err != nil {
			return err
		}
		return atomicfile.WriteFileSync(filepath.Join(tmp, StateFile), append(b, '\n'))
	})
	if err != nil {
		return fmt.Errorf("save %s: %w", filepath.Clean(dir), err)
	}
	return nil
}

// prefixed returns shallow copies of ts named prefix+name (the data is
// shared).
func prefixed(ts []*model.Tensor, prefix string) []*model.Tensor {
	out := make([]*model.Tensor, len(ts))
	for i, t := range ts {
		c := *t
		c.Name = prefix + t.Name
		out[i] = &c
	}
	return out
}

// WriteDir builds a folder with fill in a temporary directory beside dir
// and renames it into place, replacing an existing dir (moved aside first
// and removed after), then syncs the parent. A crash leaves either the old
// or the new folder (plus, at worst, a stray hidden temporary directory);
// fill's files must be synced by fill (atomicfile.WriteFileSync, model's writers).
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	var old string
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("move the previous folder aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	if d, err := os.Open(parent); err == nil {
		d.Sync() // best effort: not every filesystem syncs a directory
		d.Close()
	}
	return nil
}

// saveTokenizer writes tok into dir: by its own Save method when it has
// one, else by copying the files it was loaded from (source).
func saveTokenizer(dir string, tok tokenizer.Tokenizer, source string) error {
	if s, ok := tok.(tokenizerSaver); ok {
		return s.Save(dir)
	}
	if source == "" {
		return fmt.Errorf("tokenizer %T has no Save(dir) method and was not loaded from a file", tok)
	}
	for _, name := range []string{TokenizerFile, tokenizerConfigFile} {
		b, err := os.ReadFile(filepath.Join(source, name))
		if errors.Is(err, os.ErrNotExist) && name != TokenizerFile {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		if err := atomicfile.WriteFileSync(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
	}
	return nil
}

// Model returns the model that opts names: opts.Init (with a fresh
// optimiser), or the checkpoint folder opts.Dir read by Load. fromDir
// reports the latter: only then is there optimiser state or an adapter to
// read beside it.
func Model(opts engine.Options) (cfg model.Config, ws []*model.Tensor, tok tokenizer.Tokenizer, fromDir bool, err error) {
	if opts.Init == nil {
		cfg, ws, tok, err = Load(opts.Dir)
		return cfg, ws, tok, true, err
	}
	if opts.Dir != "" {
		return model.Config{}, nil, nil, false, fmt.Errorf("both Options.Dir (%s) and Options.Init are set: open one model", opts.Dir)
	}
	if opts.Init.Tokenizer == nil {
		return model.Config{}, nil, nil, false, errors.New("Options.Init has no tokenizer")
	}
	return opts.Init.Config, opts.Init.Weights, opts.Init.Tokenizer, false, nil
}

// Load reads the model part of a checkpoint folder: config.json, the base
// weights in cfg.Params() order and the tokenizer. Errors name the file;
// the engine prefixes its name.
func Load(dir string) (model.Config, []*model.Tensor, tokenizer.Tokenizer, error) {
	if dir == "" {
		return model.Config{}, nil, nil, errors.New("Options.Dir is empty: point it at a checkpoint folder (config.json, model.safetensors, tokenizer.json)")
	}
	cfg, err := model.ReadConfig(filepath.Join(dir, model.ConfigFile))
	if err != nil {
		return cfg, nil, nil, err
	}
	ws, err := model.LoadWeights(dir, cfg)
	if err != nil {
		return cfg, nil, nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return cfg, nil, nil, err
	}
	return cfg, ws, tok, nil
}

// CheckModel checks that cfg and tok can form a policy, whether they come
// from a folder (Load) or from the caller (an engine's New): a valid
// config and a tokenizer whose ids fit the model's vocabulary.
func CheckModel(cfg model.Config, tok tokenizer.Tokenizer) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("model config: %w", err)
	}
	if tok == nil {
		return errors.New("nil tokenizer")
	}
	if tok.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("tokenizer has %d ids but the model's vocab_size is %d", tok.VocabSize(), cfg.VocabSize)
	}
	return nil
}

// ReadState reads opts.Dir/state.json into st, checking that format wrote
// it, and fills opts.Optim and opts.Seed from it where they are zero.
// found is false (and st untouched) for a folder without state.json (a
// Hugging Face checkpoint) and whenever opts.WeightsOnly is set: the
// policy then starts with zero moments at step 0. When found, the engine
// restores the moments (ReadMoments) and st's Step.
func ReadState(opts *engine.Options, format string, st State) (found bool, err error) {
	if opts.WeightsOnly || opts.Init != nil {
		return false, nil
	}
	path := filepath.Join(opts.Dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	h := st.header()
	if h.Format != format {
		return false, fmt.Errorf("%s: format %q, want %q (a checkpoint of another engine: open it weights-only, or remove %s, to start a fresh optimiser from its weights)", path, h.Format, format, StateFile)
	}
	if opts.Optim == (engine.Optim{}) {
		opts.Optim = h.Optim
	}
	if opts.Seed == 0 {
		opts.Seed = h.Seed
	}
	return true, nil
}

// ReadMoments reads dir/optimizer.safetensors: "m.<name>" and "v.<name>"
// for each of names, with sizes[i] values each, in names' order. A
// missing or mis-sized tensor, or one that names does not list, is an
// error naming the file.
func ReadMoments(dir string, names []string, sizes []int) (m, v [][]float32, err error) {
	path := filepath.Join(dir, OptimizerFile)
	ts, _, err := model.ReadSafetensors(path)
	if err != nil {
		return nil, nil, err
	}
	take := func(prefix string) ([][]float32, error) {
		out := make([][]float32, len(names))
		for i, n := range names {
			t, ok := ts[prefix+n]
			if !ok {
				return nil, fmt.Errorf("%s: tensor %q missing; the checkpoint is incomplete (open it weights-only, or delete %s, to restart the optimiser)", path, prefix+n, StateFile)
			}
			if len(t.Data) != sizes[i] {
				return nil, fmt.Errorf("%s: tensor %q has %d values, want %d", path, prefix+n, len(t.Data), sizes[i])
			}
			out[i] = t.Data
			delete(ts, prefix+n)
		}
		return out, nil
	}
	if m, err = take("m."); err != nil {
		return nil, nil, err
	}
	if v, err = take("v."); err != nil {
		return nil, nil, err
	}
	if len(ts) > 0 {
		left := make([]string, 0, len(ts))
		for n := range ts {
			left = append(left, n)
		}
		slices.Sort(left)
		return nil, nil, fmt.Errorf("%s: unexpected tensor %q (a checkpoint of another model, or with another LoRA setting?)", path, left[0])
	}
	return m, v, nil
}
