package xla

import (
	"errors"
	"fmt"
	"math"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// validateOptim checks the settings Update needs, with the same rules and
// messages as the CPU engine. An empty Schedule means "constant".
func validateOptim(o engine.Optim) error {
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

// learningRate is the rate for optimiser step `step` (1-based): linear
// warm-up over WarmupSteps, then constant, or decaying to 0 at TotalSteps
// (linear or cosine), exactly as the CPU engine schedules it.
func learningRate(o engine.Optim, step int) float64 {
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
