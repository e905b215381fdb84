package algo

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Variant names a group-assembly procedure.
type Variant string

// Variants.
const (
	// VariantGRPO: GroupSize fresh trajectories, one group, no reset.
	VariantGRPO Variant = "grpo"
	// Variant1x4: base group of 4 fresh + one reset group of 4 (RRPO and
	// SRPO as released).
	Variant1x4 Variant = "1x4"
	// Variant2x4: two parents, two reset groups of 4, no base group.
	Variant2x4 Variant = "2x4"
	// Variant1x8: one parent, one reset group of 8, no base group.
	Variant1x8 Variant = "1x8"
)

// variants holds the released settings of each variant.
var variants = map[Variant]Procedure{
	VariantGRPO: {Parents: 0, MaxFresh: 8, GroupSize: 8},
	Variant1x4:  {Parents: 1, BaseSize: 4, ResetSize: 4, MaxFresh: 12, GroupSize: 8},
	Variant2x4:  {Parents: 2, BaseSize: 0, ResetSize: 4, MaxFresh: 12, GroupSize: 8},
	Variant1x8:  {Parents: 1, BaseSize: 0, ResetSize: 8, MaxFresh: 12, GroupSize: 8},
}

// Variants lists the variant names, sorted.
func Variants() []Variant { return slices.Sorted(maps.Keys(variants)) }

// ResetVariants lists the variants that reset failures (the layouts a
// method that resets may take), sorted.
func ResetVariants() []Variant {
	return slices.DeleteFunc(Variants(), func(v Variant) bool { return v == VariantGRPO })
}

// Procedure is a fresh-phase stopping rule and group layout. The fresh
// phase samples trajectories one after another and stops as soon as
// Parents failures have been found and BaseSize other fresh trajectories
// are in hand, or after MaxFresh samples. With Parents = 0 it samples
// exactly GroupSize trajectories (GRPO).
type Procedure struct {
	// Parents is the number of failures to reset from (0 for GRPO).
	Parents int
	// BaseSize is the size of the base group (4 in 1x4, 0 in 2x4/1x8).
	BaseSize int
	// ResetSize is the size of each reset group.
	ResetSize int
	// MaxFresh bounds the fresh phase (12 as released).
	MaxFresh int
	// GroupSize is the size of the GRPO group, and of the fallback group
	// when no failure is found within MaxFresh samples (8).
	GroupSize int
}

// NewProcedure returns the released settings of a variant.
func NewProcedure(v Variant) (Procedure, error) {
	p, ok := variants[v]
	if !ok {
		return Procedure{}, fmt.Errorf("algo: unknown variant %q (want one of %v)", v, Variants())
	}
	return p, nil
}

// Validate reports every inconsistent field at once. It checks that every
// outcome of the fresh phase can fill its groups.
func (p Procedure) Validate() error {
	var errs []error
	if p.Parents < 0 {
		errs = append(errs, fmt.Errorf("parents = %d: must be >= 0", p.Parents))
	}
	if p.BaseSize < 0 {
		errs = append(errs, fmt.Errorf("base_size = %d: must be >= 0", p.BaseSize))
	}
	if p.GroupSize < 1 {
		errs = append(errs, fmt.Errorf("group_size = %d: must be >= 1", p.GroupSize))
	}
	if p.Parents > 0 && p.ResetSize < 1 {
		errs = append(errs, fmt.Errorf("reset_size = %d: must be >= 1 when parents > 0", p.ResetSize))
	}
	if p.Parents == 0 && p.MaxFresh != p.GroupSize {
		errs = append(errs, fmt.Errorf("max_fresh = %d: must equal group_size (%d) when parents = 0", p.MaxFresh, p.GroupSize))
	}
	if p.MaxFresh < p.GroupSize {
		errs = append(errs, fmt.Errorf("max_fresh = %d: must be >= group_size (%d) so that the no-failure fallback can fill its group", p.MaxFresh, p.GroupSize))
	}
	// With found parents (1 <= found < Parents) the phase ran MaxFresh
	// samples, and the base group must grow by the missing reset groups.
	for found := 1; found <= p.Parents && p.ResetSize >= 0 && p.BaseSize >= 0; found++ {
		if need := p.baseTarget(found); p.MaxFresh-found < need {
			errs = append(errs, fmt.Errorf("max_fresh = %d: too small for %d parent(s) and a base group of %d", p.MaxFresh, found, need))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("algo: procedure: %w", err)
	}
	return nil
}

// baseTarget is the base group's size when found parents were found: the
// reset groups that could not be formed are replaced by fresh trajectories
// so that the trained budget stays Parents*ResetSize + BaseSize.
func (p Procedure) baseTarget(found int) int {
	return p.BaseSize + (p.Parents-found)*p.ResetSize
}

// Outcome is what the fresh phase's stopping rule sees of a trajectory.
type Outcome struct {
	Usable  bool
	Correct bool
}

// Failed reports a usable wrong answer.
func (o Outcome) Failed() bool { return o.Usable && !o.Correct }

// OutcomeOf returns a trajectory's outcome.
func OutcomeOf(t *Trajectory) Outcome { return Outcome{Usable: t.Usable(), Correct: t.Correct} }

// done reports whether the sequential procedure stops after seeing seq.
func (p Procedure) done(seq []Outcome) bool {
	if p.Parents == 0 {
		return len(seq) >= p.GroupSize
	}
	if len(seq) >= p.MaxFresh {
		return true
	}
	found, others := p.count(seq)
	return found == p.Parents && others >= p.BaseSize
}

// count splits seq into the parents it yields (the first Parents
// failures) and the other samples.
func (p Procedure) count(seq []Outcome) (found, others int) {
	for _, o := range seq {
		if o.Failed() && found < p.Parents {
			found++
		} else {
			others++
		}
	}
	return found, others
}

// Stop returns how many of the samples in seq the sequential procedure
// would draw: the smallest m such that it stops after seq[:m]. When it
// would not stop within seq, Stop returns len(seq) and false: the caller
// must sample more (at most MaxFresh in all).
func (p Procedure) Stop(seq []Outcome) (int, bool) {
	for m := 1; m <= len(seq); m++ {
		if p.done(seq[:m]) {
			return m, true
		}
	}
	return len(seq), false
}

// Need returns a lower bound on the further samples that the procedure
// needs after seq (0 when it has stopped). The rollout uses it to size
// batched rounds without ever exceeding MaxFresh.
func (p Procedure) Need(seq []Outcome) int {
	if _, ok := p.Stop(seq); ok {
		return 0
	}
	if p.Parents == 0 {
		return p.GroupSize - len(seq)
	}
	found, others := p.count(seq)
	need := (p.Parents - found) + max(0, p.BaseSize-others)
	return min(max(need, 1), p.MaxFresh-len(seq))
}

// Selection says where each fresh trajectory goes. Indices are positions
// in the fresh sampling order.
type Selection struct {
	// Stop is the number of fresh samples the sequential procedure draws;
	// samples at Stop and after are surplus.
	Stop int
	// Parents are the first failures in sampling order (at most
	// Procedure.Parents of them).
	Parents []int
	// Base is the base group (KindBase), empty for GRPO and the fallback.
	Base []int
	// GRPO is the single fresh group (KindGRPO) of plain GRPO or of the
	// no-failure fallback.
	GRPO []int
	// Extra are sampled but untrained fresh trajectories.
	Extra []int
}

// Select applies the procedure to the outcomes of the fresh samples in
// sampling order. It returns an error when the procedure has not stopped
// within seq (more samples are needed).
//
// Rules: the parents are the first Parents failures. Every other fresh
// trajectory up to the stop point (successes, later failures and
// trajectories with unusable verdicts alike) fills the base group in
// sampling order until it holds BaseSize + (Parents-found)*ResetSize; the
// rest are extra. When no failure is found the first GroupSize fresh
// trajectories form one GRPO group and the rest are extra.
func (p Procedure) Select(seq []Outcome) (Selection, error) {
	stop, ok := p.Stop(seq)
	if !ok {
		return Selection{}, fmt.Errorf("algo: fresh phase has not stopped after %d samples (max_fresh %d); sample more", len(seq), p.MaxFresh)
	}
	s := Selection{Stop: stop}
	var others []int
	for i, o := range seq[:stop] {
		if o.Failed() && len(s.Parents) < p.Parents {
			s.Parents = append(s.Parents, i)
		} else {
			others = append(others, i)
		}
	}
	if len(s.Parents) == 0 {
		n := min(p.GroupSize, len(others))
		s.GRPO, s.Extra = nilIfEmpty(others[:n]), nilIfEmpty(others[n:])
		return s, nil
	}
	n := min(p.baseTarget(len(s.Parents)), len(others))
	s.Base, s.Extra = nilIfEmpty(others[:n]), nilIfEmpty(others[n:])
	return s, nil
}

// nilIfEmpty keeps "no members" one value, so that selections compare
// equal however they were computed.
func nilIfEmpty(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return s
}
