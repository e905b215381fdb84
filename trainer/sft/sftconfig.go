package sft

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rewind-rl/rewind/internal/config"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
)

// Config configures a warm start: a model trained from scratch on
// Examples, then evaluated on held-out tasks. Start from DefaultConfig
// (or Load); every default is written there. The keys are those of
// `rewind sft --print-config-keys` (docs/sft-config.md), the same
// dialect as the train config's: the optimiser is the trainer's optim
// section, the template its data.template.
type Config struct {
	Family     string `koanf:"family" help:"task family (rewind data gen --help lists them); required"`
	Difficulty int    `koanf:"difficulty" help:"task difficulty, tasks.MinDifficulty..tasks.MaxDifficulty; evaluation is at this difficulty"`
	// MinDifficulty, when set, mixes the training tasks' difficulties:
	// example i has difficulty MinDifficulty + i mod (Difficulty -
	// MinDifficulty + 1), so a model sees short chains as well as the
	// evaluated ones (a model trained on one chain length does not carry
	// a walk further than it). Evaluation stays at Difficulty.
	MinDifficulty int     `koanf:"min_difficulty" help:"mix training difficulties min_difficulty..difficulty (example i at min_difficulty + i mod span); 0: every example at difficulty"`
	Seed          uint64  `koanf:"seed" help:"seed of the data, the initialisation and the order"`
	Examples      int     `koanf:"examples" help:"training examples"`
	ErrorRate     float64 `koanf:"error_rate" help:"per-step slip probability of the demonstrations"`
	LocFraction   float64 `koanf:"loc_fraction" help:"share of localization examples"`
	// Template renders solve prompts; it must equal the RL run's
	// data.template. Localization prompts are those of the run's self
	// localizer with localizer.template: short.
	Template data.Template `koanf:"template"`
	Model    ModelConfig   `koanf:"model"`
	Steps    int           `koanf:"steps" help:"optimiser steps of stage 1"`
	Batch    int           `koanf:"batch" help:"sequences per optimiser step"`
	// Optim is the optimiser; TotalSteps 0 spans both stages (steps +
	// self.steps).
	Optim engine.Optim `koanf:"optim"`
	// EvalTasks held-out tasks are solved greedily to measure accuracy,
	// and the failed ones are localized by the model (precision against
	// the process verifier's first error).
	EvalTasks int `koanf:"eval_tasks" help:"held-out tasks solved greedily (accuracy) whose failures the model localizes"`
	// EvalChains held-out synthetic flawed chains are localized too.
	EvalChains int `koanf:"eval_chains" help:"held-out synthetic flawed chains the model localizes"`
	// EvalSamples solutions are sampled per held-out task at the RL
	// sampling settings (temperature 0.7, top-p 0.95) to measure sample
	// accuracy, pass@EvalSamples and the share of tasks whose group of
	// samples is mixed (some right, some wrong: the groups GRPO learns
	// from); the sampled failures are localized too.
	EvalSamples int `koanf:"eval_samples" help:"solutions sampled per held-out task at the RL settings (pass@k, mixed groups); 0 skips"`
	// Self is the optional second stage on the model's own failures.
	Self SelfConfig `koanf:"self"`
	// Stop ends stage-1 training early once the model is competent enough.
	Stop     StopConfig `koanf:"stop"`
	LogEvery int        `koanf:"log_every" help:"steps between progress lines"`
	Out      string     `koanf:"out" help:"output folder (model/, sft.json, sft.log); rewind sft defaults it to runs/sft-FAMILY"`
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
	Steps int `koanf:"steps" help:"optimiser steps of the second stage, on the model's own failures; 0: no second stage"`
	// Tasks training tasks (the first of the stage-1 tasks, so no
	// held-out prompt is seen) are solved Samples times each.
	Tasks   int `koanf:"tasks" help:"stage 2: training tasks (the first of stage 1's) the model solves"`
	Samples int `koanf:"samples" help:"stage 2: solutions sampled per task"`
	// Mix is the share of each second-stage batch drawn from the own
	// failures, the rest from the stage-1 examples.
	Mix float64 `koanf:"mix" help:"stage 2: share of each batch drawn from the own failures (the rest from stage 1)"`
	// Balance draws the own failures with their first error uniform over
	// the steps that have any (instead of as the model makes them), so
	// the majority step is not learnt as a prior.
	Balance bool `koanf:"balance" help:"stage 2: draw the own failures with their first error uniform over the steps"`
}

// StopConfig stops stage 1 once greedy pass@1 on validation tasks (drawn
// apart from the training and the held-out tasks) reaches Accuracy,
// checked every Every steps. Competence at a carried-state task arrives
// as a jump (docs/probe.md): stopping on it lands a warm start that solves
// some tasks and fails others instead of one at chance or one that
// solves everything, which leaves RL nothing to learn. A jump can also
// pass the target between two checks: the check before is then kept when
// its pass@1 was closer to the target. Default: off.
type StopConfig struct {
	Accuracy float64 `koanf:"accuracy" help:"stop stage 1 once greedy pass@1 on validation tasks reaches this (keeping the check before when it was closer); 0: never stop early"`
	Every    int     `koanf:"every" help:"steps between the early-stop checks"`
	Tasks    int     `koanf:"tasks" help:"validation tasks of the early-stop check"`
}

// ModelConfig is the from-scratch model.
type ModelConfig struct {
	// Engine is the registered compute engine that trains it (the
	// program links it).
	Engine string            `koanf:"engine" help:"compute engine: cpu or xla"`
	Extra  map[string]string `koanf:"extra" help:"engine-specific settings passed through to the engine"`
	Preset string            `koanf:"preset" help:"trainer/model preset initialised from seed (e.g. nano, tiny)"`
	// MaxPositions overrides the preset's context length; localization
	// prompts need about 200 characters at the default difficulty, more
	// than the tiny preset's 128.
	MaxPositions int `koanf:"max_positions" help:"context length (overrides the preset's); examples longer than it are dropped"`
}

// DefaultConfig returns the defaults, which train a tiny model in a
// few minutes on 2 cores.
func DefaultConfig() Config {
	return Config{
		Difficulty: tasks.DefaultDifficulty, Seed: 1, Examples: 6000, ErrorRate: 0.1, LocFraction: 0.3,
		Template: data.Template{Kind: data.TemplatePlain, Format: data.PromptPlaceholder + "\n"}, Model: ModelConfig{Engine: "cpu", Preset: "tiny", MaxPositions: 256},
		Steps: 400, Batch: 32,
		Optim:     engine.Optim{LR: 3e-3, WeightDecay: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, GradClip: 1, Schedule: "cosine", WarmupSteps: 20},
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
	}{{"eval_tasks", c.EvalTasks}, {"eval_chains", c.EvalChains}, {"eval_samples", c.EvalSamples}, {"self.steps", c.Self.Steps}} {
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
	if !(c.Optim.LR > 0) || math.IsInf(c.Optim.LR, 0) {
		bad("optim.lr", "%v must be a positive number", c.Optim.LR)
	}
	if err := c.TrainOptim().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("sft config: %w", err))
	}
	if err := c.Template.Validate(); err != nil {
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

// TrainOptim is the optimiser of the whole warm start: Optim, with
// TotalSteps spanning both stages when it is 0.
func (c Config) TrainOptim() engine.Optim {
	o := c.Optim
	if o.TotalSteps == 0 {
		o.TotalSteps = c.Steps + c.Self.Steps
	}
	return o
}

// schema is the warm start's keys in the commands' one config dialect.
var schema = config.New(Config{}, config.Options{EnvPrefix: EnvPrefix, EnvOwned: true, ListHint: "`rewind sft --print-config-keys`"})

// EnvPrefix starts the environment variables of the sft config
// (REWIND_SFT_OPTIM_LR sets optim.lr): apart from the train config's
// REWIND_*, so that a variable meant for rewind train never changes a
// warm start, and the other way round.
const EnvPrefix = "REWIND_SFT_"

// Schema is the sft config's keys: the experiment file embeds them as its
// sft section, rewind sft adds them as flags.
func Schema() *config.Schema { return schema }

// Load builds a config from DefaultConfig and the layers of src (a YAML
// file, REWIND_SFT_* variables, flags added by AddFlags, overrides),
// each decoded strictly: an unknown key is an error naming where it is,
// with the closest known key. It does not validate: Train does.
func Load(src config.Sources) (Config, error) {
	var c Config
	if err := schema.Load(DefaultConfig(), src, &c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// AddFlags adds one --KEY flag per scalar key and --set KEY=VALUE to fs.
func AddFlags(fs *pflag.FlagSet) { schema.AddFlags(fs, DefaultConfig()) }

// YAML renders the config with its keys in field order; Load reads it
// back to the same Config.
func (c Config) YAML() ([]byte, error) { return schema.YAML(c) }

// ConfigDoc renders the reference of every key as Markdown;
// docs/sft-config.md is this output (a test keeps it current).
func ConfigDoc() string {
	var b strings.Builder
	b.WriteString("# Warm-start (rewind sft) configuration keys\n\n")
	b.WriteString("Generated by `rewind sft --print-config-keys` from `trainer/sft.Config`;\n")
	b.WriteString("do not edit by hand.\n\n")
	b.WriteString("Layers, lowest precedence first: the defaults below, the YAML file\n")
	b.WriteString("(`-c FILE`), `REWIND_SFT_*` environment variables, then flags\n")
	b.WriteString("(`--optim.lr 0.001`, or `--set KEY=VALUE` for any key including map\n")
	b.WriteString("entries). Unknown keys are errors in every layer. The `sft` section of an\n")
	b.WriteString("experiment file (`rewind compare --print-config`) has these keys too.\n\n")
	b.WriteString(schema.DocTable(DefaultConfig(), "map"))
	return b.String()
}
