package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Difficulty bounds. Every family accepts MinDifficulty..MaxDifficulty;
// DefaultDifficulty keeps a whole solution within about 100-150 characters.
const (
	MinDifficulty     = 1
	MaxDifficulty     = 5
	DefaultDifficulty = 2
)

// family is one kind of task.
type family interface {
	// generate draws one problem; difficulty is already validated.
	generate(r *rand.Rand, difficulty int) problem
	// decode rebuilds a problem from the meta that its task carries and
	// checks it is well formed.
	decode(meta []byte) (problem, error)
}

// problem is one task instance of a family.
type problem interface {
	prompt() string
	answer() int64
	// meta is the task's meta object; it names the family in "family".
	meta() any
	// solve writes the solution's step bodies (no "Step k:" label, no
	// delimiter). It calls at with each step's computation, 1-based step
	// number first, and writes the value at returns, so later steps build
	// on it: a wrong value propagates consistently.
	solve(at func(step int, c calc) int64) []string
}

var families = map[string]family{
	"sum":  sumFamily{},
	"mul":  mulFamily{},
	"cups": cupsFamily{},
	"lin":  linFamily{},
	"walk": walkFamily{},
}

// Families lists the task family names, sorted.
func Families() []string { return slices.Sorted(maps.Keys(families)) }

// Describe says in one line what a family's tasks are.
func Describe(name string) string {
	switch name {
	case "sum":
		return "running sums of 3-7 numbers, one addition (with its carries) per step"
	case "mul":
		return "long multiplication: one partial product per digit of the multiplier, then their sum"
	case "cups":
		return "a ball under one of 5 cups followed through swaps, one per step, the swaps one per prompt line"
	case "lin":
		return "a linear equation solved step by step: expand, collect constants and x terms, divide"
	case "walk":
		return "a walk on a clock of 10: one move of ±1..3 per step, the moves one per prompt line"
	}
	return ""
}

func lookup(name string) (family, error) {
	f, ok := families[name]
	if !ok {
		return nil, fmt.Errorf("unknown task family %q (known: %s)", name, strings.Join(Families(), ", "))
	}
	return f, nil
}

func checkDifficulty(d int) error {
	if d < MinDifficulty || d > MaxDifficulty {
		return fmt.Errorf("difficulty %d out of range %d..%d", d, MinDifficulty, MaxDifficulty)
	}
	return nil
}

// header is the part of every meta object that names the family.
type header struct {
	Family string `json:"family"`
}

// decodeProblem rebuilds the problem of a task from its meta.
func decodeProblem(meta []byte) (problem, error) {
	if len(meta) == 0 {
		return nil, errors.New("task has no meta: the procedural verifier needs it to know the problem")
	}
	var h header
	if err := json.Unmarshal(meta, &h); err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	f, err := lookup(h.Family)
	if err != nil {
		return nil, fmt.Errorf("meta: field \"family\": %w", err)
	}
	p, err := f.decode(meta)
	if err != nil {
		return nil, fmt.Errorf("meta of a %q task: %w", h.Family, err)
	}
	return p, nil
}

// decodeStrict decodes meta into v, rejecting unknown fields.
func decodeStrict(meta []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(meta)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// randDigits returns a number with exactly n digits.
func randDigits(r *rand.Rand, n int) int64 {
	lo := int64(1)
	for range n - 1 {
		lo *= 10
	}
	if n == 1 {
		return 1 + r.Int64N(9)
	}
	return lo + r.Int64N(9*lo)
}

// randRange returns a number in [lo, hi].
func randRange(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }

// boxed wraps the final value of a solution.
func boxed(v string) string { return `\boxed{` + v + `}` }

// itoa formats an integer.
func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// signed formats v as a term after another one: "+7" or "-7".
func signed(v int64) string {
	if v < 0 {
		return itoa(v)
	}
	return "+" + itoa(v)
}

// correct is the at function of a mistake-free solution.
func correct(_ int, c calc) int64 { return c.want }
