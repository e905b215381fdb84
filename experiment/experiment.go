// Package experiment runs Rewind's default experiment and comparisons of
// training configs: it prepares a workspace (a task family's generated
// data and a warm-started model, cached), trains each arm (a preset with
// overrides) over several seeds at the same budget of trained
// trajectories per prompt, evaluates every final policy greedily on a
// held-out set, and aggregates mean and spread over seeds into
// compare.json, compare.md and an HTML report.
//
// `rewind demo` uses the same workspace and trains one arm.
//
// It is the one layer that uses both the trainer (trainer/sft, trainer/run)
// and the task families (tasks). Like every library package it links no
// plugin and no engine: a program (cmd/rewind) or a test imports the
// engine, the builtin plugins and plugins/procverify, the families'
// process verifier that the default experiment grades with.
package experiment

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rewind-rl/rewind/internal/config"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/run"
	"github.com/rewind-rl/rewind/trainer/sft"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML is the default experiment, with comments on every key.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Experiment is a comparison's whole description. Start from Default (or
// Load); every default is in default.yaml. It loads through the commands'
// one config dialect (internal/config), like rewind train and rewind sft.
type Experiment struct {
	Family     string    `koanf:"family" help:"task family (rewind data gen --help lists them)"`
	Difficulty int       `koanf:"difficulty" help:"task difficulty of the data and the warm start"`
	Data       DataSizes `koanf:"data"`
	// SFT is the warm start; its family, difficulty and out are the
	// experiment's.
	SFT sft.Config `koanf:"sft"`
	// Train is a rewind train config (nested keys as in a YAML file).
	// run.dir, run.seed, model.path, data.train and data.eval are set by
	// the workspace and the arm.
	Train   map[string]any `koanf:"train" help:"a rewind train config (docs/config.md), checked when the arms are built; run.dir, run.seed, model.path, data.train and data.eval are filled in"`
	Compare Settings       `koanf:"compare"`
}

// DataSizes says how the datasets are generated.
type DataSizes struct {
	Seed  uint64 `koanf:"seed" help:"generator seed of the training set (the held-out set uses seed+1); must differ from sft.seed and sft.seed-1"`
	Train int    `koanf:"train" help:"training tasks (no prompt of the warm start)"`
	Eval  int    `koanf:"eval" help:"held-out tasks (no prompt of the training set or the warm start)"`
}

// Settings are the comparison's own keys.
type Settings struct {
	Seeds     []uint64 `koanf:"seeds" help:"run.seed of each repetition"`
	Parallel  int      `koanf:"parallel" help:"runs at once (each run already uses every core)"`
	EvalLimit int      `koanf:"eval_limit" help:"held-out tasks evaluated greedily per run; 0: all"`
	Smooth    int      `koanf:"smooth" help:"moving-mean window (steps) of the curves and the final accuracy"`
	// MaxGeneratedTokens is every compared run's run.max_generated_tokens.
	MaxGeneratedTokens int   `koanf:"max_generated_tokens" help:"budget of generated tokens (all phases) of every compared run, set as its run.max_generated_tokens so that every arm gets the same; 0: the train section's run.steps decide (rewind demo ignores it)"`
	Arms               []Arm `koanf:"arms" help:"the arms: name, preset, and set (train keys set on top, as run.Sources overrides; plugins.NAME: {...} adds a whole plugin entry for this arm only)"`
}

// Arm is one config under comparison: a preset and keys set over the
// experiment's train config (dotted keys, e.g. localizer.name).
type Arm struct {
	Name   string         `koanf:"name" yaml:"name"`
	Preset string         `koanf:"preset" yaml:"preset"`
	Set    map[string]any `koanf:"set" yaml:"set,omitempty"`
}

// EnvPrefix starts the environment variables of the experiment
// (REWIND_EXPERIMENT_COMPARE_SEEDS=1,2 sets compare.seeds): apart from
// rewind train's REWIND_* and rewind sft's REWIND_SFT_*, so that a variable
// meant for one command never changes another's config.
const EnvPrefix = "REWIND_EXPERIMENT_"

// schema is the experiment's keys.
var schema = config.New(Experiment{}, config.Options{EnvPrefix: EnvPrefix, EnvOwned: true, ListHint: "`rewind compare --print-config-keys`"})

// Schema is the experiment's keys, for the commands' flags.
func Schema() *config.Schema { return schema }

// Default returns the default experiment.
func Default() Experiment {
	e, err := LoadSources(config.Sources{})
	if err != nil {
		panic(fmt.Sprintf("experiment: embedded default.yaml: %v", err)) // a programming error
	}
	return e
}

// Load returns the default experiment with the YAML file at path merged
// over it ("" for none).
func Load(path string) (Experiment, error) { return LoadSources(config.Sources{File: path}) }

// LoadSources returns the default experiment (default.yaml) with the
// layers of src merged over it key by key (maps merged, lists replaced
// whole): a YAML file, REWIND_EXPERIMENT_* variables, flags added by
// AddFlags. Unknown keys are errors naming where they are; an arm's set
// and the train section are checked when the arms are built. It does not
// validate.
func LoadSources(src config.Sources) (Experiment, error) {
	base, err := schema.YAMLLayer("default.yaml", defaultYAML)
	if err != nil {
		return Experiment{}, err
	}
	layers, err := schema.Layers(src)
	if err != nil {
		return Experiment{}, err
	}
	var e Experiment
	if err := schema.Decode(Experiment{SFT: sft.DefaultConfig()}, append([]map[string]any{base}, layers...), &e); err != nil {
		if src.File != "" {
			return Experiment{}, fmt.Errorf("%s: %w", src.File, err)
		}
		return Experiment{}, err
	}
	e.SFT.Family, e.SFT.Difficulty = e.Family, e.Difficulty
	return e, nil
}

// AddFlags adds one --KEY flag per scalar key of the experiment (e.g.
// --sft.steps) and --set KEY=VALUE to fs.
func AddFlags(fs *pflag.FlagSet) { schema.AddFlags(fs, Default()) }

// ConfigDoc renders the reference of every key as Markdown.
func ConfigDoc() string {
	var b strings.Builder
	b.WriteString("# Experiment (rewind demo, rewind compare) configuration keys\n\n")
	b.WriteString("Generated by `rewind compare --print-config-keys` from `experiment.Experiment`\n")
	b.WriteString("and `experiment/default.yaml`; do not edit by hand.\n\n")
	b.WriteString("Layers, lowest precedence first: `experiment/default.yaml` (`rewind compare\n")
	b.WriteString("--print-config`), the YAML file (`-c FILE`; maps merged key by key, lists\n")
	b.WriteString("replaced whole), `REWIND_EXPERIMENT_*` environment variables, then flags\n")
	b.WriteString("(`--sft.steps 100`, or `--set KEY=VALUE`). Unknown keys are errors in every\n")
	b.WriteString("layer. The `sft.*` keys are those of `rewind sft` (docs/sft-config.md).\n\n")
	b.WriteString(schema.DocTable(Default(), "map (a rewind train config)"))
	return b.String()
}

// YAML is the experiment as a YAML document; LoadSources reads it back.
func (e Experiment) YAML() ([]byte, error) { return schema.YAML(e) }

// Validate reports every bad field at once. The train config of each arm
// is checked by Arms when the workspace paths are known.
func (e Experiment) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("experiment: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(tasks.Families(), e.Family) {
		bad("family", "%q is not a task family (have %s)", e.Family, strings.Join(tasks.Families(), ", "))
	}
	if e.Difficulty < tasks.MinDifficulty || e.Difficulty > tasks.MaxDifficulty {
		bad("difficulty", "%d is not in %d..%d", e.Difficulty, tasks.MinDifficulty, tasks.MaxDifficulty)
	}
	if e.Data.Train <= 0 || e.Data.Eval <= 0 {
		bad("data", "train and eval must be > 0 (got %d, %d)", e.Data.Train, e.Data.Eval)
	}
	if e.Data.Seed == e.SFT.Seed || e.Data.Seed+1 == e.SFT.Seed {
		bad("data.seed", "%d: the training set (seed data.seed) and the held-out set (data.seed+1) must not be drawn with the warm start's sft.seed %d, or they would repeat its prompts; pick another data.seed", e.Data.Seed, e.SFT.Seed)
	}
	sft := e.SFT
	sft.Out = "unused" // set by the workspace
	if err := sft.Validate(); err != nil {
		bad("sft", "%v", err)
	}
	if len(e.Train) == 0 {
		bad("train", "must hold a rewind train config")
	}
	c := e.Compare
	if len(c.Seeds) == 0 {
		bad("compare.seeds", "must list at least one seed")
	}
	seen := map[uint64]bool{}
	for _, s := range c.Seeds {
		if seen[s] {
			bad("compare.seeds", "seed %d is listed twice", s)
		}
		seen[s] = true
	}
	if c.Parallel < 1 {
		bad("compare.parallel", "must be >= 1, got %d", c.Parallel)
	}
	if c.EvalLimit < 0 {
		bad("compare.eval_limit", "must be >= 0, got %d", c.EvalLimit)
	}
	if c.Smooth < 1 {
		bad("compare.smooth", "must be >= 1, got %d", c.Smooth)
	}
	if c.MaxGeneratedTokens < 0 {
		bad("compare.max_generated_tokens", "must be >= 0, got %d", c.MaxGeneratedTokens)
	}
	if len(c.Arms) == 0 {
		bad("compare.arms", "must list at least one arm")
	}
	names := map[string]bool{}
	for i, a := range c.Arms {
		switch {
		case a.Name == "" || strings.ContainsAny(a.Name, `/\ `):
			bad(fmt.Sprintf("compare.arms[%d].name", i), "%q must be a non-empty name without slashes or spaces (it names the run directories)", a.Name)
		case names[a.Name]:
			bad(fmt.Sprintf("compare.arms[%d].name", i), "%q is used twice", a.Name)
		}
		names[a.Name] = true
		if !slices.Contains(run.Presets(), a.Preset) {
			bad(fmt.Sprintf("compare.arms[%d].preset", i), "%q is not a preset (have %s)", a.Preset, strings.Join(run.Presets(), ", "))
		}
	}
	return errors.Join(errs...)
}

// Arm returns the arm of the given name.
func (e Experiment) Arm(name string) (Arm, bool) {
	for _, a := range e.Compare.Arms {
		if a.Name == name {
			return a, true
		}
	}
	return Arm{}, false
}
