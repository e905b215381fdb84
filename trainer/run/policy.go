package run

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// initDir is where a from-scratch model (model.preset) is written before
// the engine opens it.
const initDir = "init"

// charSpecials are the special tokens of a char:ALPHABET tokenizer: the
// end of text, ChatML turns and the thought delimiter, each one token.
var charSpecials = []string{tokenizer.EndOfText, tokenizer.IMStart, tokenizer.IMEnd, tokenizer.EndThought}

// openPolicy opens the run's policy with the configured engine: from
// policyDir (a checkpoint's, when resuming: optimiser moments and step
// counter restored), else model.path, else a model.preset initialised from
// run.seed and written to RUNDIR/init. model.path is opened weights-only:
// a warm start saved with its optimiser state (rewind sft) starts the run
// with fresh AdamW moments at step 1 of the run's own LR schedule.
func openPolicy(cfg Config, runDir, policyDir string) (engine.Policy, error) {
	dir := policyDir
	switch {
	case dir != "":
	case cfg.Model.Path != "":
		dir = cfg.Model.Path
	default:
		var err error
		if dir, err = initModel(cfg, filepath.Join(runDir, initDir)); err != nil {
			return nil, err
		}
	}
	optim := cfg.Optim
	if optim.TotalSteps == 0 {
		optim.TotalSteps = cfg.Run.Steps
	}
	extra := cfg.Model.Extra
	if cfg.Model.PJRTPlugin != "" {
		extra = maps.Clone(extra)
		if extra == nil {
			extra = map[string]string{}
		}
		extra["pjrt_plugin"] = cfg.Model.PJRTPlugin
	}
	p, err := engine.Open(cfg.Model.Engine, engine.Options{Dir: dir, Optim: optim, Seed: cfg.Run.Seed, Extra: extra,
		WeightsOnly: policyDir == ""})
	if err != nil {
		return nil, fmt.Errorf("model: open %s with engine %s: %w", dir, cfg.Model.Engine, err)
	}
	return p, nil
}

// initModel writes config.json, model.safetensors and tokenizer.json of a
// freshly initialised model.preset into dir. The weights depend only on
// the preset, the tokenizer and run.seed, so writing them again (a run
// resumed before its first checkpoint) gives the same model.
func initModel(cfg Config, dir string) (string, error) {
	tok, err := presetTokenizer(cfg.Model.Tokenizer)
	if err != nil {
		return "", err
	}
	mc, err := model.Preset(cfg.Model.Preset)
	if err != nil {
		return "", fmt.Errorf("model.preset: %w", err)
	}
	mc = mc.WithVocab(tok.VocabSize())
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok {
		mc.EOS = id
	}
	if err := mc.Validate(); err != nil {
		return "", fmt.Errorf("model.preset %s: %w", cfg.Model.Preset, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := model.SaveWeights(dir, mc, model.InitWeights(mc, cfg.Run.Seed)); err != nil {
		return "", err
	}
	if err := tok.Save(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// presetTokenizer reads model.tokenizer: "char:ALPHABET" or a
// tokenizer.json path.
func presetTokenizer(spec string) (*tokenizer.HF, error) {
	if alphabet, ok := strings.CutPrefix(spec, "char:"); ok {
		t, err := tokenizer.NewChar(alphabet, charSpecials)
		if err != nil {
			return nil, fmt.Errorf("model.tokenizer: %w", err)
		}
		return t, nil
	}
	t, err := tokenizer.LoadHF(spec)
	if err != nil {
		return nil, fmt.Errorf("model.tokenizer: %w", err)
	}
	return t, nil
}
