package tasks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Verify grades a response to a task of any family (the family is named
// in the task's meta) and checks each of its steps.
//
// Score is 1 when the last \boxed{} of the response holds the task's
// answer, else 0. StepCorrect has one entry per step: the request's Steps
// when given, otherwise the steps found by SplitSteps. A step is correct
// when its claimed value equals that of the same step of the reference
// solution and it boxes a value exactly when it is the reference's last
// step (see the package doc). FirstError is the first wrong step, or 0
// when no step is wrong, which for a failed response means it stopped
// early (it has fewer steps than the reference and boxed nothing wrong).
//
// A task whose meta or answer is unusable gets StatusInvalid, and spans
// outside the response get StatusAbstain; the verdict never guesses.
// Verify is pure and safe for concurrent use.
func Verify(req *abi.VerifyRequest) abi.Verdict {
	p, err := decodeProblem(req.Task.Meta)
	if err != nil {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: err.Error()}
	}
	want := p.answer()
	if len(req.Task.Answer) > 0 {
		var got int64
		if err := json.Unmarshal(req.Task.Answer, &got); err != nil {
			return abi.Verdict{Status: abi.StatusInvalid, Detail: fmt.Sprintf("answer %s: not an integer: %v", req.Task.Answer, err)}
		}
		if got != want {
			return abi.Verdict{Status: abi.StatusInvalid, Detail: fmt.Sprintf("answer %d disagrees with the problem in meta, whose answer is %d", got, want)}
		}
	}
	spans := req.Steps
	if len(spans) == 0 {
		spans = SplitSteps(req.Response)
	}
	for i, s := range spans {
		if s.Start < 0 || s.End < s.Start || s.End > len(req.Response) {
			return abi.Verdict{Status: abi.StatusAbstain, Detail: fmt.Sprintf("step %d span [%d,%d) is outside the response (%d bytes)", i+1, s.Start, s.End, len(req.Response))}
		}
	}

	ref := p.solve(correct)
	v := abi.Verdict{Status: abi.StatusOK}
	if len(spans) > 0 {
		v.StepCorrect = make([]bool, len(spans))
	}
	first := 0
	var why string
	for i, s := range spans {
		body := stepBody(req.Response[s.Start:s.End])
		ok := checkStep(body, ref, i) == ""
		v.StepCorrect[i] = ok
		if !ok && first == 0 {
			first, why = i+1, explain(body, ref, i)
		}
	}
	v.FirstError = &first

	got, found := lastBoxed(req.Response)
	got = strings.TrimSpace(got)
	if n, err := strconv.ParseInt(strings.TrimPrefix(got, "+"), 10, 64); found && err == nil && n == want {
		v.Score = 1
	}
	switch {
	case !found:
		v.Detail = "no \\boxed{} answer"
	default:
		v.Detail = fmt.Sprintf("answer %q, want %d", got, want)
	}
	if first > 0 {
		v.Detail += fmt.Sprintf("; step %d wrong: %s", first, why)
	} else if v.Score == 0 && len(spans) < len(ref) {
		v.Detail += fmt.Sprintf("; stopped after %d of %d steps", len(spans), len(ref))
	}
	return v
}

// checkStep compares body, the i-th (0-based) step of a response, with the
// reference step bodies. It returns "" when the step is correct, else a
// short reason key that explain turns into a message (formatting only the
// first error keeps a call allocation-light, which matters in Wasm).
func checkStep(body string, ref []string, i int) string {
	if i >= len(ref) {
		return "extra"
	}
	_, boxedHere := lastBoxed(body)
	last := i == len(ref)-1
	switch {
	case boxedHere && !last:
		return "early"
	case !boxedHere && last:
		return "unboxed"
	}
	if !sameClaim(claim(body), claim(ref[i])) {
		return "value"
	}
	return ""
}

// explain says why step i is wrong.
func explain(body string, ref []string, i int) string {
	switch checkStep(body, ref, i) {
	case "extra":
		return fmt.Sprintf("the solution has only %d steps", len(ref))
	case "early":
		return "boxes an answer before the last step"
	case "unboxed":
		return "the last step boxes no answer"
	}
	return fmt.Sprintf("claims %q, want %q", claim(body), claim(ref[i]))
}
