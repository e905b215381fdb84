package rollout

import (
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/trainer/algo"
)

// Mode is how responses are generated and split into steps.
type Mode string

// Generation modes.
const (
	// ModeThought generates one step per call, each ending at the step
	// delimiter: step boundaries are exact token boundaries.
	ModeThought Mode = "thought"
	// ModeWhole generates the whole response in one call and lets a
	// segmenter plugin find the steps.
	ModeWhole Mode = "whole"
)

// Config configures a rollout. Start from DefaultConfig.
type Config struct {
	// Procedure is the fresh-phase rule and group layout.
	Procedure algo.Procedure
	// Algo is the advantage and mask configuration used by Assemble.
	Algo algo.Config

	// Temperature, TopP and TopK of every trajectory. Defaults 0.7, 0.95,
	// 0 (off).
	Temperature float32
	TopP        float32
	TopK        int

	// Mode is thought (default) or whole.
	Mode Mode
	// MaxSteps bounds the steps of a thought-by-thought response
	// (default 20).
	MaxSteps int
	// StepTokens bounds each step (default 256).
	StepTokens int
	// MaxTokens bounds a whole response, prefix included (default 5120).
	MaxTokens int
	// Delimiter ends a step (default "</thought>"); it is kept in the
	// output.
	Delimiter string
	// AnswerMarker in a step ends a thought-by-thought response (default
	// `\boxed{`).
	AnswerMarker string

	// Rounds are the minimum sizes of the fresh rounds: round r samples
	// max(Rounds[r], what the procedure still needs) per prompt that has
	// not stopped, capped at MaxFresh; rounds past the list sample
	// everything that may still be needed. Default [5, 7].
	Rounds []int
	// GenChunk splits a whole-response generation into calls of at most
	// this many requests so that verification overlaps generation; 0
	// sends one call. Default 0.
	GenChunk int
	// VerifyConcurrency bounds the verifier and segmenter calls in
	// flight (default 8).
	VerifyConcurrency int
	// CorrectAt is the verifier score at or above which an answer counts
	// as correct; other usable answers are failures. Default 1.
	CorrectAt float64
}

// DefaultConfig returns docs/method.md's released settings for variant.
func DefaultConfig(v algo.Variant) (Config, error) {
	proc, err := algo.NewProcedure(v)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Procedure:         proc,
		Algo:              algo.DefaultConfig(),
		Temperature:       0.7,
		TopP:              0.95,
		Mode:              ModeThought,
		MaxSteps:          20,
		StepTokens:        256,
		MaxTokens:         5120,
		Delimiter:         "</thought>",
		AnswerMarker:      `\boxed{`,
		Rounds:            []int{5, 7},
		VerifyConcurrency: 8,
		CorrectAt:         1,
	}, nil
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Procedure.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Algo.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Temperature < 0 {
		errs = append(errs, fmt.Errorf("temperature = %g: must be >= 0", c.Temperature))
	}
	if c.TopP < 0 || c.TopP > 1 {
		errs = append(errs, fmt.Errorf("top_p = %g: must be in [0, 1]", c.TopP))
	}
	if c.TopK < 0 {
		errs = append(errs, fmt.Errorf("top_k = %d: must be >= 0", c.TopK))
	}
	switch c.Mode {
	case ModeThought:
		if c.MaxSteps < 1 {
			errs = append(errs, fmt.Errorf("max_steps = %d: must be >= 1, e.g. 20", c.MaxSteps))
		}
		if c.StepTokens < 1 {
			errs = append(errs, fmt.Errorf("step_tokens = %d: must be >= 1, e.g. 256", c.StepTokens))
		}
		if c.Delimiter == "" {
			errs = append(errs, errors.New(`delimiter is empty: thought-by-thought generation needs one, e.g. "</thought>"`))
		}
		if c.AnswerMarker == "" {
			errs = append(errs, errors.New(`answer_marker is empty: set it, e.g. "\boxed{"`))
		}
	case ModeWhole:
	default:
		errs = append(errs, fmt.Errorf("mode = %q: want %q or %q", c.Mode, ModeThought, ModeWhole))
	}
	if c.MaxTokens < 1 {
		errs = append(errs, fmt.Errorf("max_tokens = %d: must be >= 1, e.g. 5120", c.MaxTokens))
	}
	for i, r := range c.Rounds {
		if r < 1 {
			errs = append(errs, fmt.Errorf("rounds[%d] = %d: must be >= 1", i, r))
		}
	}
	if c.GenChunk < 0 {
		errs = append(errs, fmt.Errorf("gen_chunk = %d: must be >= 0", c.GenChunk))
	}
	if c.VerifyConcurrency < 1 {
		errs = append(errs, fmt.Errorf("verify_concurrency = %d: must be >= 1", c.VerifyConcurrency))
	}
	if !(c.CorrectAt > 0 && c.CorrectAt <= 1) {
		errs = append(errs, fmt.Errorf("correct_at = %g: must be in (0, 1]", c.CorrectAt))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rollout: config: %w", err)
	}
	return nil
}
