package engine

import (
	"errors"
	"fmt"
	"math"
)

// Validate checks the settings an engine's Update needs and joins every
// field error. An empty Schedule means "constant". Engines call it at each
// Update (not at Open), so a policy opened only to sample may carry a zero
// Optim.
func (o Optim) Validate() error {
	var errs []error
	if !(o.LR >= 0) {
		errs = append(errs, fmt.Errorf("optim.lr = %v: must be >= 0", o.LR))
	}
	if !(o.WeightDecay >= 0) {
		errs = append(errs, fmt.Errorf("optim.weight_decay = %v: must be >= 0", o.WeightDecay))
	}
	if !(o.Beta1 >= 0 && o.Beta1 < 1) {
		errs = append(errs, fmt.Errorf("optim.beta1 = %v: must be in [0, 1) (e.g. 0.9)", o.Beta1))
	}
	if !(o.Beta2 >= 0 && o.Beta2 < 1) {
		errs = append(errs, fmt.Errorf("optim.beta2 = %v: must be in [0, 1) (e.g. 0.999)", o.Beta2))
	}
	if !(o.Eps > 0) {
		errs = append(errs, fmt.Errorf("optim.eps = %v: must be > 0 (e.g. 1e-8)", o.Eps))
	}
	if !(o.GradClip >= 0) {
		errs = append(errs, fmt.Errorf("optim.grad_clip = %v: must be >= 0 (0 = off)", o.GradClip))
	}
	if o.WarmupSteps < 0 {
		errs = append(errs, fmt.Errorf("optim.warmup_steps = %d: must be >= 0", o.WarmupSteps))
	}
	switch o.Schedule {
	case "", "constant":
	case "linear", "cosine":
		if o.TotalSteps <= o.WarmupSteps {
			errs = append(errs, fmt.Errorf("optim.total_steps = %d: schedule %q needs total_steps > warmup_steps = %d", o.TotalSteps, o.Schedule, o.WarmupSteps))
		}
	default:
		errs = append(errs, fmt.Errorf("optim.schedule = %q: want constant, linear or cosine", o.Schedule))
	}
	return errors.Join(errs...)
}

// LRAt is the learning rate of optimiser step `step` (1-based: the first
// Update of a fresh optimiser is step 1): a linear warm-up from
// LR/WarmupSteps to LR over the first WarmupSteps steps, then constant, or
// decaying to 0 at TotalSteps (linear or cosine) and staying 0. The step
// counter is part of the optimiser state that Policy.Save writes, so a
// policy opened without Options.WeightsOnly continues the schedule where
// it stopped.
func (o Optim) LRAt(step int) float64 {
	if o.WarmupSteps > 0 && step <= o.WarmupSteps {
		return o.LR * float64(step) / float64(o.WarmupSteps)
	}
	switch o.Schedule {
	case "linear", "cosine":
		prog := float64(step-o.WarmupSteps) / float64(o.TotalSteps-o.WarmupSteps)
		prog = math.Min(1, math.Max(0, prog))
		if o.Schedule == "linear" {
			return o.LR * (1 - prog)
		}
		return o.LR * 0.5 * (1 + math.Cos(math.Pi*prog))
	}
	return o.LR
}
