package grpchost

import (
	"fmt"
	"math"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Contract checks on what a plugin returns. A violation is reported as
// abi.StatusMalformed: the output decoded but cannot be trusted.

func checkVerdict(v *abi.Verdict, req *abi.VerifyRequest) error {
	switch v.Status {
	case abi.StatusOK, abi.StatusAbstain, abi.StatusInvalid:
	default:
		return fmt.Errorf("verdict status %q is not one of ok, abstain, invalid", v.Status)
	}
	if math.IsNaN(v.Score) || v.Score < 0 || v.Score > 1 {
		return fmt.Errorf("verdict score %v is outside [0, 1]", v.Score)
	}
	n := len(req.Steps)
	if v.StepCorrect != nil && len(v.StepCorrect) != n {
		return fmt.Errorf("step_correct has %d entries for %d steps", len(v.StepCorrect), n)
	}
	if fe := v.FirstError; fe != nil && (*fe < 0 || (n > 0 && *fe > n)) {
		return fmt.Errorf("first_error %d is outside 0..%d", *fe, n)
	}
	return nil
}

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

func checkSpans(spans []abi.Span, response string) error {
	prev := 0
	for i, s := range spans {
		if s.Start < prev || s.End <= s.Start || s.End > len(response) {
			return fmt.Errorf("span %d [%d, %d) is empty, out of order, overlapping or past the response's %d bytes", i, s.Start, s.End, len(response))
		}
		prev = s.End
	}
	return nil
}

func checkLocalization(l *abi.Localization, req *abi.LocalizeRequest) error {
	if l.Step < 0 || l.Step > len(req.Steps) {
		return fmt.Errorf("step %d is outside 0..%d", l.Step, len(req.Steps))
	}
	if math.IsNaN(l.Confidence) || l.Confidence < 0 || l.Confidence > 1 {
		return fmt.Errorf("confidence %v is outside [0, 1]", l.Confidence)
	}
	return nil
}
