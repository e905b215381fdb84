// Package sft is the supervised warm start (SFT) of the trainer: it builds
// the warm-start data of the task families in package tasks
// (demonstrations, some with slips that propagate to a wrong answer, and
// localization examples that teach a model to name the first wrong step of
// a flawed chain in the very prompt the trainer's self localizer will show
// it), trains a model from scratch on it through engine.Open, so on any
// registered engine, optionally adds a second stage on the model's own
// failures, and evaluates the result.
//
// It is a trainer component, apart from package tasks, because it uses the
// trainer (engines, the localization prompt of trainer/localize, data
// templates) while the task families depend on the SDK alone, to compile
// into the Wasm verifier.
package sft

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/localize"
)

// LocalizeConfig is the self-localizer configuration that the warm-start
// data is written for, as trainer/run builds it for localizer.template:
// short and a data template of the given kind: localize.ShortTemplate,
// wrapped in ChatML for a chat template, with the default delimiters. A
// run that self-localizes with a model warm-started on Examples must set
// localizer.template: short; see docs/tasks.md.
func LocalizeConfig(templateKind string) localize.SelfConfig {
	c := localize.DefaultSelfConfig()
	c.Template = localize.ShortTemplate
	if templateKind == data.TemplateChat {
		c.Chat = localize.ChatML
	}
	return c
}

// LocalizationPrompt is the prompt that the self localizer of a run with a
// plain data template shows for a failed chain of a problem.
func LocalizationPrompt(problem string, steps []string) string {
	return localizationPrompt(data.TemplatePlain, problem, steps)
}

func localizationPrompt(templateKind, problem string, steps []string) string {
	c := LocalizeConfig(templateKind)
	return localize.Render(c.Template, c.Chat, c.Delimiters, problem, steps)
}

// Example is one supervised warm-start example: the model is trained on
// Completion given Prompt. Solve examples have the raw task prompt (the
// trainer applies its data template to it, as for RL prompts) and a
// possibly flawed solution; localize examples have a LocalizationPrompt
// and the answer \boxed{k}.
type Example struct {
	Kind       string `json:"kind"` // "solve" or "localize"
	TaskID     string `json:"task_id"`
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
	// FirstError is the first slipped step of the chain, 0 for a clean one.
	FirstError int `json:"first_error"`
}

// Kinds of examples.
const (
	KindSolve    = "solve"
	KindLocalize = "localize"
)

// Examples returns n warm-start examples for a family, deterministic in
// its arguments; example i uses task i of tasks.Generate(family, n, seed,
// difficulty).
//
// A share locFraction of them, evenly spaced (example i is a localization
// example when floor((i+1)f) > floor(i f)), are localization examples: a
// chain from tasks.FlawedFirstUniform, whose first wrong step is uniform
// over the steps, shown in LocalizationPrompt with completion \boxed{k}.
// The others are demonstrations from tasks.Flawed: each step slips with
// probability errorRate, and a flawed demonstration ends in a wrong answer.
//
// Localization prompts are those of a run with a plain data template.
func Examples(family string, n int, seed uint64, difficulty int, errorRate, locFraction float64) ([]Example, error) {
	return examples(family, n, seed, difficulty, difficulty, errorRate, locFraction, data.TemplatePlain)
}

// examples is Examples with the tasks' difficulties cycling through
// minDifficulty..difficulty: example i has difficulty minDifficulty +
// i mod span and uses task i div span of that difficulty, so with
// minDifficulty == difficulty it is Examples.
func examples(family string, n int, seed uint64, minDifficulty, difficulty int, errorRate, locFraction float64, templateKind string) ([]Example, error) {
	if !(errorRate >= 0 && errorRate <= 1) {
		return nil, fmt.Errorf("error rate %v is not in [0, 1]", errorRate)
	}
	if !(locFraction >= 0 && locFraction <= 1) {
		return nil, fmt.Errorf("localization fraction %v is not in [0, 1]", locFraction)
	}
	if minDifficulty > difficulty {
		return nil, fmt.Errorf("minimum difficulty %d is above the difficulty %d", minDifficulty, difficulty)
	}
	span := difficulty - minDifficulty + 1
	byD := make([][]abi.Task, span)
	for k := range byD {
		var err error
		if byD[k], err = tasks.Generate(family, (n+span-1-k)/span, seed, minDifficulty+k); err != nil {
			return nil, err
		}
	}
	out := make([]Example, n)
	for i := range out {
		d := minDifficulty + i%span
		t := byD[i%span][i/span]
		// A stream of its own per example, apart from the generator's.
		r := rand.New(rand.NewPCG(seed^0x5eed5eed5eed5eed, uint64(d)<<56^uint64(i)))
		loc := math.Floor(float64(i+1)*locFraction) > math.Floor(float64(i)*locFraction)
		var c tasks.Chain
		var err error
		if loc {
			c, err = tasks.FlawedFirstUniform(t, r, errorRate)
		} else {
			c, err = tasks.Flawed(t, r, errorRate)
		}
		if err != nil {
			return nil, err
		}
		ex := Example{Kind: KindSolve, TaskID: t.ID, Prompt: t.Prompt, Completion: c.Text(), FirstError: c.FirstError()}
		if loc && ex.FirstError > 0 { // else no step admits a slip: keep the demonstration
			ex.Kind = KindLocalize
			ex.Prompt = localizationPrompt(templateKind, t.Prompt, c.Steps)
			ex.Completion = `\boxed{` + strconv.Itoa(ex.FirstError) + `}`
		}
		out[i] = ex
	}
	return out, nil
}
