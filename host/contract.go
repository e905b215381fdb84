package host

import (
	"fmt"
	"math"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// The contract on what a plugin returns, checked in one place for every
// source (builtin, Wasm, process) by the registry's guard (policy.go). A
// result that breaks it is a *PluginError with abi.StatusMalformed: it
// decoded, but it cannot be trusted. The rules are those of sdk/ABI.md,
// "Result contract"; change both together.

// checkVerdict validates a verifier's verdict for a request with steps
// step spans. It fails closed: an empty status is malformed, not ok.
//
// With steps > 0 the host segmented the response, and StepCorrect (when
// present) has one entry per step and FirstError (when present) is in
// 0..steps. With steps == 0 the verifier segmented the response itself,
// so the host cannot know the count: FirstError must be >= 0 and, when
// StepCorrect is present, at most len(StepCorrect).
func checkVerdict(v *abi.Verdict, steps int) error {
	switch v.Status {
	case abi.StatusOK, abi.StatusAbstain, abi.StatusInvalid:
	case "":
		return fmt.Errorf("verdict has no status (want ok, abstain or invalid; an empty status is not taken as ok)")
	default:
		return fmt.Errorf("verdict status %q is not one a plugin may report (ok, abstain, invalid)", v.Status)
	}
	if math.IsNaN(v.Score) || math.IsInf(v.Score, 0) {
		return fmt.Errorf("verdict score %v is not finite", v.Score)
	}
	if v.Status == abi.StatusOK && (v.Score < 0 || v.Score > 1) {
		return fmt.Errorf("verdict score %v is outside [0, 1]", v.Score)
	}
	if steps > 0 && v.StepCorrect != nil && len(v.StepCorrect) != steps {
		return fmt.Errorf("step_correct has %d entries for %d steps", len(v.StepCorrect), steps)
	}
	if fe := v.FirstError; fe != nil {
		switch {
		case *fe < 0:
			return fmt.Errorf("first_error %d is negative", *fe)
		case steps > 0 && *fe > steps:
			return fmt.Errorf("first_error %d is outside 0..%d (the request's steps)", *fe, steps)
		case steps == 0 && v.StepCorrect != nil && *fe > len(v.StepCorrect):
			return fmt.Errorf("first_error %d is outside 0..%d (the verdict's step_correct)", *fe, len(v.StepCorrect))
		}
	}
	return nil
}

// checkScores validates a reward model's scores for n requests: one
// finite number per request (they are not bounded to [0, 1]).
func checkScores(scores []float64, n int) error {
	if len(scores) != n {
		return fmt.Errorf("%d scores for %d requests", len(scores), n)
	}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("score %d is %v", i, s)
		}
	}
	return nil
}

// checkSpans validates a segmenter's spans against a response of n bytes:
// each non-empty, in order, not overlapping, inside the response.
func checkSpans(spans []abi.Span, n int) error {
	prev := 0
	for i, s := range spans {
		if s.Start < prev || s.End <= s.Start || s.End > n {
			return fmt.Errorf("span %d [%d, %d) is empty, out of order, overlapping or past the response's %d bytes", i, s.Start, s.End, n)
		}
		prev = s.End
	}
	return nil
}

// checkLocalization validates a localizer's answer for a request with
// steps step spans: Step in 0..steps, Confidence in [0, 1].
func checkLocalization(l *abi.Localization, steps int) error {
	if l.Step < 0 || l.Step > steps {
		return fmt.Errorf("step %d is outside 0..%d", l.Step, steps)
	}
	if math.IsNaN(l.Confidence) || l.Confidence < 0 || l.Confidence > 1 {
		return fmt.Errorf("confidence %v is outside [0, 1]", l.Confidence)
	}
	return nil
}
