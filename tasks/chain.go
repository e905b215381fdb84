package tasks

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Slip records a mistake injected at a step.
type Slip struct {
	Step int     `json:"step"`
	Kind Mistake `json:"kind"`
}

// Chain is a solution of a task, possibly with slips.
type Chain struct {
	// Steps are the step texts, each "Step k: ...</thought>".
	Steps []string
	// Slips are the mistakes made, in step order; Slips[0].Step is the
	// first wrong step. Empty for a correct chain.
	Slips []Slip
}

// Text is the whole solution, the steps concatenated.
func (c Chain) Text() string { return strings.Join(c.Steps, "") }

// FirstError is the first wrong step, 0 for a correct chain.
func (c Chain) FirstError() int {
	if len(c.Slips) == 0 {
		return 0
	}
	return c.Slips[0].Step
}

// Flawed solves t with each step independently slipping with probability
// errorRate (when some mistake kind applies to it). A chain with slips
// always ends in a wrong answer: when slips cancel out, the draw is
// repeated, and after a few tries the clean solution is returned.
func Flawed(t abi.Task, r *rand.Rand, errorRate float64) (Chain, error) {
	p, err := decodeProblem(t.Meta)
	if err != nil {
		return Chain{}, fmt.Errorf("task %q: %w", t.ID, err)
	}
	bodies, slips := wrongOrClean(p, func() ([]string, []Slip) {
		return solveWithSlips(p, r, func(int) bool { return r.Float64() < errorRate })
	})
	return Chain{Steps: stepTexts(bodies), Slips: slips}, nil
}

// FlawedFirstUniform solves t with a first slip at a step drawn uniformly
// among the steps that admit one, later steps slipping again with
// probability errorRate; the answer is wrong. It returns a correct chain
// only when no step of t admits a slip.
func FlawedFirstUniform(t abi.Task, r *rand.Rand, errorRate float64) (Chain, error) {
	p, err := decodeProblem(t.Meta)
	if err != nil {
		return Chain{}, fmt.Errorf("task %q: %w", t.ID, err)
	}
	bodies, slips := flawedAtRandomStep(p, r, errorRate)
	return Chain{Steps: stepTexts(bodies), Slips: slips}, nil
}

// stepTexts labels step bodies and adds their delimiters.
func stepTexts(bodies []string) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		out[i] = fmt.Sprintf("Step %d: %s%s", i+1, b, Delimiter)
	}
	return out
}

// solveWithSlips solves p, slipping at each step where slipHere says so
// and some mistake kind applies (kinds are tried in random order). It
// returns the step bodies and the slips made, in step order.
func solveWithSlips(p problem, r *rand.Rand, slipHere func(step int) bool) ([]string, []Slip) {
	var slips []Slip
	bodies := p.solve(func(step int, c calc) int64 {
		if !slipHere(step) {
			return c.want
		}
		kinds := Mistakes()
		r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		for _, m := range kinds {
			if v, ok := slip(r, c, m); ok {
				slips = append(slips, Slip{Step: step, Kind: m})
				return v
			}
		}
		return c.want
	})
	return bodies, slips
}

// solveWithSlip solves p with one slip of kind m at step k, if m applies
// there; ok reports whether it did.
func solveWithSlip(p problem, r *rand.Rand, k int, m Mistake) (bodies []string, ok bool) {
	bodies = p.solve(func(step int, c calc) int64 {
		if step != k {
			return c.want
		}
		v, applies := slip(r, c, m)
		if !applies {
			return c.want
		}
		ok = true
		return v
	})
	return bodies, ok
}

// flawedAtRandomStep returns a chain whose first slip is at a step drawn
// uniformly among those that admit a slip; later steps slip again with
// probability errorRate. It returns no slips only when no step admits one.
func flawedAtRandomStep(p problem, r *rand.Rand, errorRate float64) ([]string, []Slip) {
	n := len(p.solve(correct))
	for _, k := range r.Perm(n) {
		k++
		bodies, slips := wrongOrClean(p, func() ([]string, []Slip) {
			return solveWithSlips(p, r, func(step int) bool {
				return step == k || step > k && r.Float64() < errorRate
			})
		})
		if len(slips) > 0 && slips[0].Step == k {
			return bodies, slips
		}
	}
	return p.solve(correct), nil
}

// wrongOrClean draws chains until one is clean or ends in a wrong answer:
// two slips can cancel (a partial product 100 too high, another 100 too
// low), and a chain with slips but the right answer would teach that
// wrong steps are fine. After a few draws it gives up on slips and
// returns the clean solution.
func wrongOrClean(p problem, draw func() ([]string, []Slip)) ([]string, []Slip) {
	want := itoa(p.answer())
	for range 8 {
		bodies, slips := draw()
		if len(slips) == 0 || !sameClaim(claim(bodies[len(bodies)-1]), want) {
			return bodies, slips
		}
	}
	return p.solve(correct), nil
}
