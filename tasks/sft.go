package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// LocalizeTemplate is the short localization prompt that warm-started tiny
// models are trained on and that the trainer's self localizer must use for
// them (set localizer.template to it; see docs/tasks.md). {problem} is the
// task prompt and {steps} the steps of the failed solution, one per line
// as "Step k: ..." with their delimiters stripped. The expected answer is
// \boxed{k} with k the first wrong step.
//
// It keeps the parts of METHOD.md's prompt that a model of a few hundred
// thousand parameters can use (the problem, the numbered steps, the
// boxed-number answer) and drops the instructions, which such a model
// cannot read.
const LocalizeTemplate = "Find the first wrong step.\n{problem}\n{steps}"

// LocalizationPrompt renders LocalizeTemplate for a problem and the step
// texts of a failed solution (labels and delimiters are stripped and
// rewritten, so steps may be given with or without them).
func LocalizationPrompt(problem string, steps []string) string {
	var b strings.Builder
	for i, s := range steps {
		fmt.Fprintf(&b, "Step %d: %s\n", i+1, stepText(s))
	}
	r := strings.NewReplacer("{problem}", problem, "{steps}", b.String())
	return r.Replace(LocalizeTemplate)
}

// stepText strips a step's label and delimiter, keeping its inner spacing.
func stepText(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), Delimiter))
	if rest, ok := strings.CutPrefix(s, "Step "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				s = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return s
}

// Example is one supervised warm-start example: the model is trained on
// Completion given Prompt. Solve examples have the task prompt and a
// (possibly flawed) solution; localize examples have a localization prompt
// and the answer \boxed{k}.
type Example struct {
	Kind       string `json:"kind"` // "solve" or "localize"
	TaskID     string `json:"task_id"`
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
	// FirstError is the first slipped step of the chain, 0 for a clean one.
	FirstError int `json:"first_error"`
}

// Slip records a mistake injected at a step.
type Slip struct {
	Step int     `json:"step"`
	Kind Mistake `json:"kind"`
}

// SFTExamples returns n warm-start examples for a family, deterministic in
// (family, n, seed, difficulty, errorRate, locFraction).
//
// A share locFraction of them (exactly round-down spaced: example i is a
// localization example when floor((i+1)f) > floor(i f)) are localization
// examples: a chain with a slip at a step drawn uniformly among the steps
// that admit one, shown in LocalizationPrompt, with completion \boxed{k}.
// The others are demonstrations in which each step independently carries
// a slip with probability errorRate; a slip propagates consistently, so
// the final answer of a flawed demonstration is wrong. Tasks come from
// Generate(family, n, seed, difficulty), so example i uses task i.
func SFTExamples(family string, n int, seed uint64, difficulty int, errorRate, locFraction float64) ([]Example, error) {
	if !(errorRate >= 0 && errorRate <= 1) {
		return nil, fmt.Errorf("error rate %v is not in [0, 1]", errorRate)
	}
	if !(locFraction >= 0 && locFraction <= 1) {
		return nil, fmt.Errorf("localization fraction %v is not in [0, 1]", locFraction)
	}
	ts, err := Generate(family, n, seed, difficulty)
	if err != nil {
		return nil, err
	}
	out := make([]Example, len(ts))
	for i, t := range ts {
		p, err := decodeProblem(t.Meta)
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", t.ID, err)
		}
		// A stream of its own per example, apart from the generator's.
		r := rand.New(rand.NewPCG(seed^0x5eed5eed5eed5eed, uint64(difficulty)<<56^uint64(i)))
		if math.Floor(float64(i+1)*locFraction) > math.Floor(float64(i)*locFraction) {
			bodies, slips := flawedAtRandomStep(p, r, errorRate)
			if len(slips) == 0 { // no step of this problem admits a slip
				out[i] = Example{Kind: "solve", TaskID: t.ID, Prompt: t.Prompt, Completion: render(bodies)}
				continue
			}
			out[i] = Example{
				Kind: "localize", TaskID: t.ID,
				Prompt:     LocalizationPrompt(t.Prompt, bodies),
				Completion: boxed(strconv.Itoa(slips[0].Step)),
				FirstError: slips[0].Step,
			}
			continue
		}
		bodies, slips := wrongOrClean(p, func() ([]string, []Slip) {
			return solveWithSlips(p, r, func(int) bool { return r.Float64() < errorRate })
		})
		ex := Example{Kind: "solve", TaskID: t.ID, Prompt: t.Prompt, Completion: render(bodies)}
		if len(slips) > 0 {
			ex.FirstError = slips[0].Step
		}
		out[i] = ex
	}
	return out, nil
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
