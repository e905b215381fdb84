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
	"io"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/run"
	"github.com/rewind-rl/rewind/trainer/sft"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML is the default experiment, with comments on every key.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Experiment is a comparison's whole description. Start from Default (or
// Load); every default is in default.yaml.
type Experiment struct {
	Family     string     `yaml:"family"`
	Difficulty int        `yaml:"difficulty"`
	Data       DataSizes  `yaml:"data"`
	SFT        sftSection `yaml:"sft"`
	// Train is a rewind train config (nested keys as in a YAML file).
	// run.dir, run.seed, model.path, data.train and data.eval are set by
	// the workspace and the arm.
	Train   map[string]any `yaml:"train"`
	Compare Settings       `yaml:"compare"`
}

// DataSizes says how the datasets are generated.
type DataSizes struct {
	Seed  uint64 `yaml:"seed"`
	Train int    `yaml:"train"`
	Eval  int    `yaml:"eval"`
}

// sftSection is sft.Config; family, difficulty and out are the
// experiment's.
type sftSection = sft.Config

// Settings are the comparison's own keys.
type Settings struct {
	Seeds     []uint64 `yaml:"seeds"`
	Parallel  int      `yaml:"parallel"`
	EvalLimit int      `yaml:"eval_limit"`
	Smooth    int      `yaml:"smooth"`
	Arms      []Arm    `yaml:"arms"`
}

// Arm is one config under comparison: a preset and keys set over the
// experiment's train config (dotted keys, e.g. localizer.name).
type Arm struct {
	Name   string         `yaml:"name"`
	Preset string         `yaml:"preset"`
	Set    map[string]any `yaml:"set"`
}

// Default returns the default experiment.
func Default() Experiment {
	e, err := decode(defaultYAML, "default.yaml")
	if err != nil {
		panic(fmt.Sprintf("compare: embedded default.yaml: %v", err)) // a programming error
	}
	return e
}

// Load returns the default experiment with the YAML file at path merged
// over it key by key (lists are replaced whole). Unknown keys are errors.
func Load(path string) (Experiment, error) {
	if path == "" {
		return Default(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Experiment{}, err
	}
	var base, over map[string]any
	if err := yaml.Unmarshal(defaultYAML, &base); err != nil {
		return Experiment{}, err
	}
	if err := yaml.Unmarshal(raw, &over); err != nil {
		return Experiment{}, fmt.Errorf("%s: %w", path, err)
	}
	merged, err := yaml.Marshal(merge(base, over))
	if err != nil {
		return Experiment{}, err
	}
	e, err := decode(merged, path)
	if err != nil {
		return Experiment{}, err
	}
	return e, nil
}

// merge returns over merged into base: maps recursively, anything else
// (lists included) replaced.
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// decode decodes an experiment strictly onto the SFT defaults.
func decode(raw []byte, name string) (Experiment, error) {
	e := Experiment{SFT: sft.DefaultConfig()}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil && !errors.Is(err, io.EOF) {
		return Experiment{}, fmt.Errorf("%s: %w", name, err)
	}
	e.SFT.Family, e.SFT.Difficulty = e.Family, e.Difficulty
	return e, nil
}

// YAML is the experiment as a YAML document.
func (e Experiment) YAML() ([]byte, error) { return yaml.Marshal(e) }

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
