// Package run is the training loop of Rewind: configuration, the run
// directory (resolved config, metrics.jsonl, rollouts.jsonl, checkpoints,
// summary.json), exact resume and progress reporting.
//
// A run is described by a Config. Configs are built in layers, each
// overriding the one before: a preset (grpo, rrpo, srpo and the paper's
// ablations), a YAML file, REWIND_* environment variables and command-line
// flags. Every layer is decoded strictly: an unknown key is an error that
// names the key, where it came from and the closest known key.
package run

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// Config is everything a training run needs. It is plain data: building
// it does no I/O, and Validate checks it without touching the disk.
// The `help` tag of each field is its documentation; docs/config.md and
// `rewind train --print-config-keys` are generated from these tags and the
// preset defaults so they cannot drift.
type Config struct {
	Preset    string                    `koanf:"preset" help:"preset the defaults come from: grpo, rrpo, srpo, srpo-2x4, srpo-1x8, srpo-nomask, srpo-oracle (docs/method.md), or grpo-tiny, rrpo-tiny, srpo-tiny, srpo-oracle-tiny (the same with the tiny recipe: optim.lr 1.5e-4 and algo.kl_coef 0.05, docs/recipe.md)"`
	Run       RunConfig                 `koanf:"run"`
	Model     ModelConfig               `koanf:"model"`
	Data      DataConfig                `koanf:"data"`
	Algo      AlgoConfig                `koanf:"algo"`
	Sampling  SamplingConfig            `koanf:"sampling"`
	Localizer LocalizerConfig           `koanf:"localizer"`
	Reward    RewardConfig              `koanf:"reward"`
	Plugins   map[string]map[string]any `koanf:"plugins" help:"plugins by name, each a host plugin config (builtin, wasm or process source, options, limits, on_failure); a name used by reward, sampling.segmenter or localizer that is not listed here means the builtin of that name"`
	Optim     engine.Optim              `koanf:"optim"`
}

// RunConfig controls the loop and the run directory.
type RunConfig struct {
	Seed            uint64 `koanf:"seed" help:"seed of every random choice of the run (data order, sampling, resets)"`
	Dir             string `koanf:"dir" help:"run directory; created if missing, refused if it holds another run (use --resume)"`
	Steps           int    `koanf:"steps" help:"optimiser steps; 0 derives them from data.epochs and data.batch_prompts"`
	CheckpointEvery int    `koanf:"checkpoint_every" help:"write a checkpoint every N steps (and at the end); 0 only at the end"`
	KeepCheckpoints int    `koanf:"keep_checkpoints" help:"complete checkpoints kept; older ones are deleted"`
	Log             string `koanf:"log" help:"progress output: auto (bar on a terminal, plain lines otherwise), bar, plain, none"`
	LogRollouts     bool   `koanf:"log_rollouts" help:"write every trajectory to rollouts.jsonl"`
	Concurrency     int    `koanf:"concurrency" help:"concurrent verifier calls"`
	// MaxGeneratedTokens is the run's budget of generated tokens.
	MaxGeneratedTokens int `koanf:"max_generated_tokens" help:"budget of generated tokens: the run ends after the step at which the tokens it generated (fresh, parent, localization and reset, all counted) reach this, or after run.steps, whichever comes first; 0: no budget"`
	EvalEvery          int `koanf:"eval_every" help:"evaluate greedy pass@1 on the first run.eval_tasks tasks of data.eval every N steps and after the last, into metrics.jsonl (eval); 0: never"`
	EvalTasks          int `koanf:"eval_tasks" help:"tasks of data.eval (the first N) evaluated every run.eval_every steps; 0: all"`
	// MaxUnusable and UnusableWindow stop a run that would train on
	// (almost) nothing because its plugins fail: see loop.go.
	MaxUnusable    float64 `koanf:"max_unusable" help:"the run stops with an error, naming the plugin and its most frequent failure, when more than this share of the verdicts of the last run.unusable_window steps are unusable (any status but ok: timeout, crash, malformed, invalid, abstain, ...); 1: never"`
	UnusableWindow int     `koanf:"unusable_window" help:"steps over which run.max_unusable is measured (all of them in a shorter run)"`
}

// ModelConfig chooses the policy.
type ModelConfig struct {
	Engine    string            `koanf:"engine" help:"compute engine: cpu or xla"`
	Path      string            `koanf:"path" help:"Hugging Face style checkpoint directory (config.json, model.safetensors, tokenizer.json); empty to initialise model.preset from scratch"`
	Preset    string            `koanf:"preset" help:"model preset initialised from run.seed when model.path is empty (e.g. tiny, small)"`
	Tokenizer string            `koanf:"tokenizer" help:"tokenizer for model.preset: a tokenizer.json path, or char:ALPHABET for a character tokenizer"`
	Extra     map[string]string `koanf:"extra" help:"engine-specific settings passed through to the engine"`
	// PJRTPlugin is passed to the xla engine as extra pjrt_plugin.
	PJRTPlugin string `koanf:"pjrt_plugin" help:"engine xla: absolute path of the PJRT plugin that runs the graphs, e.g. <site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so; empty runs them on GoMLX's pure-Go backend"`
}

// DataConfig chooses the datasets and the prompt format.
type DataConfig struct {
	Train        string        `koanf:"train" help:"training set, JSONL with id, prompt, answer, optional meta"`
	Eval         string        `koanf:"eval" help:"evaluation set (rewind eval), same format"`
	Template     data.Template `koanf:"template"`
	BatchPrompts int           `koanf:"batch_prompts" help:"prompts per optimiser step"`
	Epochs       int           `koanf:"epochs" help:"passes over the training set when run.steps is 0"`
}

// AlgoConfig chooses the algorithm and its switches (docs/method.md).
type AlgoConfig struct {
	Name             string  `koanf:"name" help:"grpo, rrpo or srpo (rrpo and srpo differ only in the localizer)"`
	GroupSize        int     `koanf:"group_size" help:"GRPO group size G; also the fallback group size of rrpo/srpo"`
	Layout           string  `koanf:"layout" help:"reset layout: 1x4 (base 4 + reset 4), 2x4 (two reset groups), 1x8 (one reset group of 8)"`
	MaxFresh         int     `koanf:"max_fresh" help:"fresh trajectories sampled at most while looking for a parent"`
	ResetMask        string  `koanf:"reset_mask" help:"loss mask of reset trajectories: suffix (prefix gets no gradient) or all (the no-mask ablation)"`
	Loss             string  `koanf:"loss" help:"pg (plain policy gradient) or clip (PPO clipped surrogate)"`
	ClipLow          float64 `koanf:"clip_low" help:"clip: lower ratio bound 1-clip_low"`
	ClipHigh         float64 `koanf:"clip_high" help:"clip: upper ratio bound 1+clip_high (0.28 for DAPO clip-higher)"`
	DrGRPO           bool    `koanf:"dr_grpo" help:"Dr.GRPO: no std division, token sums normalised by a constant length"`
	SkipZeroVariance bool    `koanf:"skip_zero_variance" help:"drop groups whose rewards are all equal from the batch"`
	AuxLocCoef       float64 `koanf:"aux_loc_coef" help:"weight of an auxiliary SFT loss on localization examples (algo.aux_loc_data) added to every step's batch, to keep the self localizer competent while RL moves the policy; 0: none, as in docs/method.md (an ablation, not SRPO)"`
	AuxLocData       string  `koanf:"aux_loc_data" help:"JSONL of localization examples for algo.aux_loc_coef, one {\"prompt\": the localization prompt as the localizer renders it, \"completion\": e.g. \\boxed{2}} per line"`
	AuxLocBatch      int     `koanf:"aux_loc_batch" help:"localization examples per step for algo.aux_loc_coef, taken in file order, cycling"`
	KLCoef           float64 `koanf:"kl_coef" help:"coefficient of a KL penalty to the run's starting policy (k3 estimator per trained token, as in GRPO papers; costs one reference forward pass per step); 0: none, as in docs/method.md"`
}

// SamplingConfig controls rollout generation.
type SamplingConfig struct {
	Temperature   float64 `koanf:"temperature" help:"sampling temperature of training rollouts"`
	TopP          float64 `koanf:"top_p" help:"nucleus sampling mass; 1 turns it off"`
	TopK          int     `koanf:"top_k" help:"keep the K most probable tokens; 0 turns it off"`
	Mode          string  `koanf:"mode" help:"thought (step by step until the delimiter) or whole (one call, then the segmenter)"`
	MaxSteps      int     `koanf:"max_steps" help:"thought mode: steps per trajectory at most"`
	MaxStepTokens int     `koanf:"max_step_tokens" help:"thought mode: new tokens per step at most"`
	MaxTokens     int     `koanf:"max_tokens" help:"response tokens per trajectory at most"`
	Delimiter     string  `koanf:"delimiter" help:"thought mode: the string that ends a step (kept in the output)"`
	AnswerMarker  string  `koanf:"answer_marker" help:"thought mode: a step containing this ends the trajectory"`
	Segmenter     string  `koanf:"segmenter" help:"whole mode: segmenter plugin that splits responses into steps"`
}

// LocalizerConfig chooses how the reset step is picked.
type LocalizerConfig struct {
	Name        string  `koanf:"name" help:"self (the policy names its first wrong step: SRPO), or a localizer plugin: random (RRPO), oracle, first, entropy, confidence, prm (docs/localizers.md)"`
	Temperature float64 `koanf:"temperature" help:"self: decoding temperature of the localization call"`
	MaxTokens   int     `koanf:"max_tokens" help:"self: new tokens of the localization call at most"`
	Template    string  `koanf:"template" help:"self: localization prompt: empty for docs/method.md's prompt, short for the compact prompt of tiny models (the warm-start data's), or a template with {{problem}}, {{steps}} and {{n}}"`
}

// RewardConfig says how a trajectory's reward is made.
type RewardConfig struct {
	Verifier string             `koanf:"verifier" help:"verifier plugin whose score is the outcome reward (and decides correctness)"`
	Models   map[string]float64 `koanf:"models" help:"reward-model plugins and their weights: reward = verifier score + sum of weight * model score"`
}

// Validate reports every bad field at once, joined, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	positive := func(key string, v int) {
		if v <= 0 {
			bad(key, "must be > 0, got %d", v)
		}
	}
	nonNeg := func(key string, v int) {
		if v < 0 {
			bad(key, "must be >= 0, got %d", v)
		}
	}
	finite := func(key string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			bad(key, "must be in [%g, %g], got %g", lo, hi, v)
		}
	}
	if _, ok := presets[c.Preset]; !ok {
		bad("preset", "%q is not a preset (have %s)", c.Preset, strings.Join(Presets(), ", "))
	}

	r := c.Run
	if r.Dir == "" {
		bad("run.dir", "must be set")
	}
	nonNeg("run.steps", r.Steps)
	nonNeg("run.checkpoint_every", r.CheckpointEvery)
	positive("run.keep_checkpoints", r.KeepCheckpoints)
	oneOf("run.log", r.Log, "auto", "bar", "plain", "none")
	positive("run.concurrency", r.Concurrency)
	nonNeg("run.max_generated_tokens", r.MaxGeneratedTokens)
	nonNeg("run.eval_every", r.EvalEvery)
	nonNeg("run.eval_tasks", r.EvalTasks)
	if r.MaxUnusable < 0 || r.MaxUnusable > 1 || math.IsNaN(r.MaxUnusable) {
		bad("run.max_unusable", "%v is not a share: want 0 to 1 (1 never stops the run)", r.MaxUnusable)
	}
	positive("run.unusable_window", r.UnusableWindow)
	if r.EvalEvery > 0 && c.Data.Eval == "" {
		bad("run.eval_every", "evaluates on data.eval, which is not set: set data.eval to a held-out JSONL, or run.eval_every to 0")
	}

	m := c.Model
	if m.Engine == "" {
		bad("model.engine", "must be set (cpu or xla)")
	}
	switch {
	case m.Path == "" && m.Preset == "":
		bad("model.path", "set model.path to a checkpoint directory, or model.preset (with model.tokenizer) to start from scratch")
	case m.Path != "" && m.Preset != "":
		bad("model.preset", "set either model.path or model.preset, not both")
	case m.Preset != "" && m.Tokenizer == "":
		bad("model.tokenizer", "must be set with model.preset (a tokenizer.json path or char:ALPHABET)")
	}
	switch {
	case m.PJRTPlugin == "":
	case m.Engine != "xla":
		bad("model.pjrt_plugin", "is only read by engine xla (model.engine is %q)", m.Engine)
	case !filepath.IsAbs(m.PJRTPlugin):
		bad("model.pjrt_plugin", "must be an absolute path, got %q (a bare name would make XLA search for, and try to download, a plugin)", m.PJRTPlugin)
	case m.Extra["pjrt_plugin"] != "" && m.Extra["pjrt_plugin"] != m.PJRTPlugin:
		bad("model.pjrt_plugin", "and model.extra.pjrt_plugin disagree: set one of them")
	}

	d := c.Data
	if err := d.Template.Validate(); err != nil {
		bad("data.template", "%v", err)
	}
	positive("data.batch_prompts", d.BatchPrompts)
	positive("data.epochs", d.Epochs)

	a := c.Algo
	method, methodErr := algo.MethodNamed(a.Name)
	if methodErr != nil {
		bad("algo.name", "%q is not one of %s", a.Name, strings.Join(algo.Methods(), ", "))
	}
	positive("algo.group_size", a.GroupSize)
	var layouts []string
	for _, v := range algo.ResetVariants() {
		layouts = append(layouts, string(v))
	}
	oneOf("algo.layout", a.Layout, layouts...)
	oneOf("algo.reset_mask", a.ResetMask, "suffix", "all")
	oneOf("algo.loss", a.Loss, string(engine.LossPG), string(engine.LossClip))
	finite("algo.clip_low", a.ClipLow, 0, 1)
	finite("algo.clip_high", a.ClipHigh, 0, 10)
	finite("algo.kl_coef", a.KLCoef, 0, 1e6)
	finite("algo.aux_loc_coef", a.AuxLocCoef, 0, 1e6)
	if a.AuxLocCoef > 0 {
		if a.AuxLocData == "" {
			bad("algo.aux_loc_data", "must name a JSONL of localization examples when algo.aux_loc_coef > 0")
		}
		positive("algo.aux_loc_batch", a.AuxLocBatch)
	}
	if method.Resets() {
		min := 5 // a base group of 4 plus a parent
		if a.Layout == "2x4" {
			min = 2
		} else if a.Layout == "1x8" {
			min = 1
		}
		if a.MaxFresh < min {
			bad("algo.max_fresh", "must be >= %d for layout %s, got %d", min, a.Layout, a.MaxFresh)
		}
		if a.GroupSize != 8 {
			bad("algo.group_size", "%s trains 8 trajectories per prompt (the layouts are 1x4, 2x4, 1x8), so group_size must be 8, got %d", a.Name, a.GroupSize)
		}
	}

	s := c.Sampling
	finite("sampling.temperature", s.Temperature, 0, 100)
	finite("sampling.top_p", s.TopP, 0, 1)
	nonNeg("sampling.top_k", s.TopK)
	oneOf("sampling.mode", s.Mode, "thought", "whole")
	positive("sampling.max_tokens", s.MaxTokens)
	if s.Mode == "thought" {
		positive("sampling.max_steps", s.MaxSteps)
		positive("sampling.max_step_tokens", s.MaxStepTokens)
		if s.Delimiter == "" {
			bad("sampling.delimiter", "must be set in thought mode")
		}
	}
	if s.Mode == "whole" && s.Segmenter == "" {
		bad("sampling.segmenter", "must be set in whole mode")
	}

	l := c.Localizer
	if err := method.CheckLocalizer(l.Name); err != nil && methodErr == nil {
		bad("localizer.name", "%v", err)
	}
	finite("localizer.temperature", l.Temperature, 0, 100)
	positive("localizer.max_tokens", l.MaxTokens)

	w := c.Reward
	if w.Verifier == "" {
		bad("reward.verifier", "must name a verifier plugin")
	}
	for _, name := range slices.Sorted(maps.Keys(w.Models)) {
		finite("reward.models."+name, w.Models[name], -1e6, 1e6)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Plugins)) {
		if err := validatePlugin(name, c.Plugins[name]); err != nil {
			bad("plugins."+name, "%v", err)
		}
	}

	o := c.Optim
	finite("optim.lr", o.LR, 0, 10)
	if o.LR == 0 {
		bad("optim.lr", "must be > 0")
	}
	finite("optim.weight_decay", o.WeightDecay, 0, 10)
	finite("optim.beta1", o.Beta1, 0, 0.999999)
	finite("optim.beta2", o.Beta2, 0, 0.999999999)
	finite("optim.eps", o.Eps, 0, 1)
	finite("optim.grad_clip", o.GradClip, 0, 1e9)
	oneOf("optim.schedule", o.Schedule, "constant", "linear", "cosine")
	nonNeg("optim.warmup_steps", o.WarmupSteps)
	nonNeg("optim.total_steps", o.TotalSteps)
	return errors.Join(errs...)
}
