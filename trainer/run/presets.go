package run

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// DefaultPreset is the preset used when no layer names one.
const DefaultPreset = algo.SRPO

// presets maps a preset name to the change it makes to the release
// defaults of docs/method.md (see base): one preset per method of algo's
// table, named like it, and the ablations of SRPO.
var presets = map[string]func(c *Config){
	algo.GRPO:  useMethod(algo.GRPO),
	algo.RRPO:  useMethod(algo.RRPO),
	algo.SRPO:  useMethod(algo.SRPO),
	"srpo-2x4": func(c *Config) { c.Algo.Layout = "2x4" },
	"srpo-1x8": func(c *Config) {
		c.Algo.Layout = "1x8"
		// docs/method.md: the 1x8 ablation localizes at temperature 0.
		c.Localizer.Temperature = 0
	},
	"srpo-nomask": func(c *Config) { c.Algo.ResetMask = "all" },
	"srpo-oracle": func(c *Config) {
		// Needs a process verifier that reports first-error steps.
		c.Localizer.Name = "oracle"
	},
}

// The tiny recipe: the settings under which GRPO improves a 0.4M-parameter
// warm start trained from scratch, found on walk (docs/recipe.md), and
// under which Rewind's own experiments compare the methods. It departs
// from the paper (docs/method.md lists it among the departures): a KL
// penalty to the warm start, which the paper does not use, and a learning
// rate for a tiny model trained in full rather than a 7B LoRA.
const (
	TinyLR     = 1.5e-4
	TinyKLCoef = 0.05
)

// tinyPresets are the paper presets with the tiny recipe on top, each
// named after its paper preset with "-tiny".
var tinyPresets = []string{algo.GRPO, algo.RRPO, algo.SRPO, "srpo-oracle"}

func init() {
	for _, name := range tinyPresets {
		paper := presets[name]
		presets[name+"-tiny"] = func(c *Config) {
			paper(c)
			c.Optim.LR = TinyLR
			c.Algo.KLCoef = TinyKLCoef
		}
	}
}

// useMethod sets algo.name and the method's defaults from algo's table:
// its loss, its localizer and, for a method that resets, its layout.
func useMethod(name string) func(c *Config) {
	m, err := algo.MethodNamed(name)
	if err != nil {
		panic(err) // the presets name methods of the table
	}
	return func(c *Config) {
		c.Algo.Name = m.Name
		c.Algo.Loss = string(m.Loss)
		c.Localizer.Name = m.Localizer
		if m.Resets() {
			c.Algo.Layout = string(m.Variant)
		}
	}
}

// Presets lists the preset names, sorted.
func Presets() []string { return slices.Sorted(maps.Keys(presets)) }

// Preset returns the defaults of the named preset: the release settings
// of docs/method.md with the preset's changes applied.
func Preset(name string) (Config, error) {
	apply, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (have %v)", name, Presets())
	}
	c := base()
	c.Preset = name
	c.Run.Dir = "runs/" + name
	useMethod(algo.SRPO)(&c) // the release defaults are SRPO's
	apply(&c)
	return c, nil
}

// base holds docs/method.md's release settings (SRPO 1x4).
func base() Config {
	return Config{
		Run: RunConfig{
			Seed:            1,
			Steps:           0,
			CheckpointEvery: 50,
			KeepCheckpoints: 3,
			Log:             "auto",
			LogRollouts:     true,
			Concurrency:     8,
			MaxUnusable:     0.5,
			UnusableWindow:  5,
		},
		Model: ModelConfig{Engine: "cpu"},
		Data: DataConfig{
			Template:     data.Template{Kind: data.TemplateChat},
			BatchPrompts: 32,
			Epochs:       2,
		},
		// Name, Layout, Loss and Localizer.Name: SRPO's in algo's
		// method table (see Preset).
		Algo: AlgoConfig{
			GroupSize:   8,
			MaxFresh:    12,
			ResetMask:   "suffix",
			ClipLow:     0.2,
			ClipHigh:    0.2,
			AuxLocBatch: 8,
		},
		Sampling: SamplingConfig{
			Temperature:   0.7,
			TopP:          0.95,
			Mode:          "thought",
			MaxSteps:      20,
			MaxStepTokens: 256,
			MaxTokens:     5120,
			Delimiter:     "</thought>",
			AnswerMarker:  `\boxed{`,
			Segmenter:     "thought",
		},
		Localizer: LocalizerConfig{
			Temperature: 0.3,
			MaxTokens:   4096,
		},
		Reward: RewardConfig{Verifier: "boxed"},
		Optim: engine.Optim{
			LR:          5e-5,
			WeightDecay: 0.01,
			Beta1:       0.9,
			Beta2:       0.999,
			Eps:         1e-8,
			GradClip:    1.0,
			Schedule:    "constant",
		},
	}
}
