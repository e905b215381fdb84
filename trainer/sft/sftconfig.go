package sft

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/model"
)

// Config configures a warm start: a model trained from scratch on
// Examples, then evaluated on held-out tasks. Start from DefaultConfig;
// every default is written on its field.
type Config struct {
	Family     string `yaml:"family"`     // task family; required
	Difficulty int    `yaml:"difficulty"` // default tasks.DefaultDifficulty
	// MinDifficulty, when set, mixes the training tasks' difficulties:
	// example i has difficulty MinDifficulty + i mod (Difficulty -
	// MinDifficulty + 1), so a model sees short chains as well as the
	// evaluated ones (a model trained on one chain length does not carry
	// a walk further than it). Evaluation stays at Difficulty. Default 0:
	// every example at Difficulty.
	MinDifficulty int     `yaml:"min_difficulty"`
	Seed          uint64  `yaml:"seed"`         // data, initialisation and order; default 1
	Examples      int     `yaml:"examples"`     // training examples; default 6000
	ErrorRate     float64 `yaml:"error_rate"`   // per-step slip probability of demonstrations; default 0.1
	LocFraction   float64 `yaml:"loc_fraction"` // share of localization examples; default 0.3
	// Template renders solve prompts; it must equal the RL run's
	// data.template. Default plain, "{prompt}\n". Localization prompts
	// are those of the run's self localizer with localizer.template: short.
	Template    Template    `yaml:"template"`
	Model       ModelConfig `yaml:"model"`
	Steps       int         `yaml:"steps"`        // optimiser steps; default 400
	Batch       int         `yaml:"batch"`        // sequences per step; default 32
	LR          float64     `yaml:"lr"`           // peak AdamW learning rate; default 3e-3
	Warmup      int         `yaml:"warmup"`       // linear warm-up steps; default 20
	Schedule    string      `yaml:"schedule"`     // constant, linear or cosine; default cosine
	WeightDecay float64     `yaml:"weight_decay"` // default 0.01
	GradClip    float64     `yaml:"grad_clip"`    // default 1
	// EvalTasks held-out tasks are solved greedily to measure accuracy,
	// and the failed ones are localized by the model (precision against
	// the process verifier's first error); default 200.
	EvalTasks int `yaml:"eval_tasks"`
	// EvalChains held-out synthetic flawed chains are localized too;
	// default 200.
	EvalChains int `yaml:"eval_chains"`
	// EvalSamples solutions are sampled per held-out task at the RL
	// sampling settings (temperature 0.7, top-p 0.95) to measure sample
	// accuracy, pass@EvalSamples and the share of tasks whose group of
	// samples is mixed (some right, some wrong: the groups GRPO learns
	// from); the sampled failures are localized too. Default 8; 0 skips.
	EvalSamples int `yaml:"eval_samples"`
	// Self is the optional second stage on the model's own failures.
	Self SelfConfig `yaml:"self"`
	// Stop ends stage-1 training early once the model is competent enough.
	Stop     StopConfig `yaml:"stop"`
	LogEvery int        `yaml:"log_every"` // steps between progress lines; default 25
	Out      string     `yaml:"out"`       // output folder; default runs/sft-FAMILY
}

// SelfConfig configures the second SFT stage: after Steps optimiser steps on
// Examples, the model samples solutions of the training tasks at the RL
// sampling settings, the process verifier grades them, and each failure
// with a wrong step becomes a localization example labelled with its true
// first error. Training then goes on for Self.Steps steps on a mix of
// these and the stage-1 examples (to keep the solve skill). The self
// localizer sees exactly such chains during RL, whereas synthetic slips
// propagate consistently and can be told apart from the model's own
// mistakes (docs/tasks.md). The learning-rate schedule spans both stages.
type SelfConfig struct {
	Steps int `yaml:"steps"` // optimiser steps of the second stage; default 0: no second stage
	// Tasks training tasks (the first of the stage-1 tasks, so no
	// held-out prompt is seen) are solved Samples times each; default
	// 2000 and 1.
	Tasks   int `yaml:"tasks"`
	Samples int `yaml:"samples"`
	// Mix is the share of each second-stage batch drawn from the own
	// failures, the rest from the stage-1 examples; default 0.5.
	Mix float64 `yaml:"mix"`
	// Balance draws the own failures with their first error uniform over
	// the steps that have any (instead of as the model makes them), so
	// the majority step is not learnt as a prior; default false.
	Balance bool `yaml:"balance"`
}

// StopConfig stops stage 1 once greedy pass@1 on validation tasks (drawn
// apart from the training and the held-out tasks) reaches Accuracy,
// checked every Every steps. Competence at a carried-state task arrives
// as a jump (docs/probe.md): stopping on it lands a warm start that solves
// some tasks and fails others instead of one at chance or one that
// solves everything, which leaves RL nothing to learn. Default: off.
type StopConfig struct {
	Accuracy float64 `yaml:"accuracy"` // target greedy pass@1 in (0, 1]; 0: never stop early
	Every    int     `yaml:"every"`    // steps between checks; default 25
	Tasks    int     `yaml:"tasks"`    // validation tasks; default 100
}

// Template mirrors trainer/data.Template with the keys of the run
// config's data.template.
type Template struct {
	Kind            string `yaml:"kind"`
	Format          string `yaml:"format"`
	System          string `yaml:"system"`
	AssistantPrefix string `yaml:"assistant_prefix"`
}

// Data is the trainer/data template.
func (t Template) Data() data.Template {
	return data.Template{Kind: t.Kind, Format: t.Format, System: t.System, AssistantPrefix: t.AssistantPrefix}
}

// ModelConfig is the from-scratch model.
type ModelConfig struct {
	// Engine is the registered compute engine that trains it (cpu or
	// xla; the program links it); default "cpu".
	Engine string            `yaml:"engine"`
	Extra  map[string]string `yaml:"extra"`  // engine-specific settings passed through to the engine
	Preset string            `yaml:"preset"` // trainer/model preset; default "tiny"
	// MaxPositions overrides the preset's context length; localization
	// prompts need about 200 characters at the default difficulty, more
	// than the tiny preset's 128. Default 256.
	MaxPositions int `yaml:"max_positions"`
}

// DefaultConfig returns the defaults, which train a tiny model in a
// few minutes on 2 cores.
func DefaultConfig() Config {
	return Config{
		Difficulty: tasks.DefaultDifficulty, Seed: 1, Examples: 6000, ErrorRate: 0.1, LocFraction: 0.3,
		Template: Template{Kind: data.TemplatePlain, Format: data.PromptPlaceholder + "\n"}, Model: ModelConfig{Engine: "cpu", Preset: "tiny", MaxPositions: 256},
		Steps: 400, Batch: 32, LR: 3e-3, Warmup: 20, Schedule: "cosine", WeightDecay: 0.01, GradClip: 1,
		EvalTasks: 200, EvalChains: 200, EvalSamples: 8, LogEvery: 25,
		Self: SelfConfig{Tasks: 2000, Samples: 1, Mix: 0.5},
		Stop: StopConfig{Every: 25, Tasks: 100},
	}
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("sft config: field %q: %s", field, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(tasks.Families(), c.Family) {
		bad("family", "%q is not a task family (have %v)", c.Family, tasks.Families())
	}
	if c.Difficulty < tasks.MinDifficulty || c.Difficulty > tasks.MaxDifficulty {
		bad("difficulty", "%d is not in %d..%d", c.Difficulty, tasks.MinDifficulty, tasks.MaxDifficulty)
	}
	if c.MinDifficulty != 0 && (c.MinDifficulty < tasks.MinDifficulty || c.MinDifficulty > c.Difficulty) {
		bad("min_difficulty", "%d is not in %d..difficulty = %d (or 0: off)", c.MinDifficulty, tasks.MinDifficulty, c.Difficulty)
	}
	if !(c.Stop.Accuracy >= 0 && c.Stop.Accuracy <= 1) {
		bad("stop.accuracy", "%v is not in [0, 1]", c.Stop.Accuracy)
	}
	if c.Stop.Accuracy > 0 && (c.Stop.Every <= 0 || c.Stop.Tasks <= 0) {
		bad("stop", "every = %d and tasks = %d must be > 0 when stop.accuracy is set", c.Stop.Every, c.Stop.Tasks)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"examples", c.Examples}, {"steps", c.Steps}, {"batch", c.Batch}, {"log_every", c.LogEvery}} {
		if f.v <= 0 {
			bad(f.name, "%d must be > 0", f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"warmup", c.Warmup}, {"eval_tasks", c.EvalTasks}, {"eval_chains", c.EvalChains}, {"eval_samples", c.EvalSamples}, {"self.steps", c.Self.Steps}} {
		if f.v < 0 {
			bad(f.name, "%d must be >= 0", f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"error_rate", c.ErrorRate}, {"loc_fraction", c.LocFraction}, {"self.mix", c.Self.Mix}} {
		if !(f.v >= 0 && f.v <= 1) {
			bad(f.name, "%v is not in [0, 1]", f.v)
		}
	}
	if c.Self.Steps > 0 {
		// The stage-1 tasks at difficulty are one in span of the examples.
		span := 1
		if c.MinDifficulty > 0 && c.MinDifficulty <= c.Difficulty {
			span = c.Difficulty - c.MinDifficulty + 1
		}
		if c.Self.Tasks <= 0 || c.Self.Tasks > c.Examples/span {
			bad("self.tasks", "%d must be in 1..%d, the stage-1 tasks at the difficulty (examples / span of difficulties), which are reused", c.Self.Tasks, c.Examples/span)
		}
		if c.Self.Samples <= 0 {
			bad("self.samples", "%d must be > 0", c.Self.Samples)
		}
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		bad("lr", "%v must be a positive number", c.LR)
	}
	if !(c.WeightDecay >= 0) || !(c.GradClip >= 0) {
		bad("weight_decay", "weight_decay and grad_clip must be >= 0 (got %v, %v)", c.WeightDecay, c.GradClip)
	}
	if !slices.Contains([]string{"constant", "linear", "cosine"}, c.Schedule) {
		bad("schedule", "%q is not constant, linear or cosine", c.Schedule)
	}
	if c.Schedule != "constant" && c.Warmup >= c.Steps+c.Self.Steps {
		bad("warmup", "%d must be below steps + self.steps = %d for a %s schedule", c.Warmup, c.Steps+c.Self.Steps, c.Schedule)
	}
	if err := c.Template.Data().Validate(); err != nil {
		bad("template", "%v (use the RL run's data.template)", err)
	}
	if c.Model.Engine == "" {
		bad("model.engine", "must be set (cpu or xla)")
	}
	if _, err := model.Preset(c.Model.Preset); err != nil {
		bad("model.preset", "%v", err)
	}
	if c.Model.MaxPositions <= 0 {
		bad("model.max_positions", "%d must be > 0", c.Model.MaxPositions)
	}
	if c.Out == "" {
		bad("out", "must be set (the output folder)")
	}
	return errors.Join(errs...)
}

// LoadConfig decodes a YAML file strictly (an unknown key is an error
// naming its line) onto DefaultConfig. It does not validate: Train does.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
