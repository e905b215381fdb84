package rollout

import (
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
)

// GroupStats summarises the trajectories of one group kind that have a
// usable verdict.
type GroupStats struct {
	Groups       int     `json:"groups"`
	Trajectories int     `json:"trajectories"` // usable members
	Reward       float64 `json:"reward"`       // mean reward
	Accuracy     float64 `json:"accuracy"`     // fraction correct
	Trained      int     `json:"trained"`      // members with RoleTrain
}

// LocalizerStats compares reset points with the verifier's first error
// step FE (parents whose verdict reports FE >= 1 only).
type LocalizerStats struct {
	// Evaluated counts the parents with a reported first error >= 1.
	Evaluated int `json:"evaluated"`
	// Precision: fraction of resets at or before the first error
	// (k <= FE), whose prefix holds no wrong step ("clean").
	Precision float64 `json:"precision"`
	// Recall: fraction of resets exactly at the first error (k == FE),
	// the earliest state from which the error can be undone with the
	// whole correct prefix kept.
	Recall float64 `json:"recall"`
	// CleanCorrection and ErroneousCorrection are the fractions of
	// usable reset trajectories that are correct, for resets with k <= FE
	// and k > FE.
	CleanCorrection     float64 `json:"clean_correction"`
	CleanN              int     `json:"clean_n"`
	ErroneousCorrection float64 `json:"erroneous_correction"`
	ErroneousN          int     `json:"erroneous_n"`
}

// Metrics are the rollout statistics of one step.
type Metrics struct {
	Prompts int `json:"prompts"`
	// Groups by kind (base, reset, grpo).
	Groups map[algo.Kind]GroupStats `json:"groups"`
	// Fresh summarises the fresh trajectories up to each prompt's stop
	// point (parents and extra included, surplus excluded).
	Fresh GroupStats `json:"fresh"`
	// Roles counts trajectories by role.
	Roles map[algo.Role]int `json:"roles"`
	// Statuses counts verdict statuses of all graded trajectories.
	Statuses map[abi.Status]int `json:"statuses"`

	// Resets counts parents; ResetStep and ResetRelPos are the mean k and
	// k/n over them.
	Resets      int     `json:"resets"`
	ResetStep   float64 `json:"reset_step"`
	ResetRelPos float64 `json:"reset_rel_pos"`
	// NoFailureRate is the fraction of prompts whose fresh phase found no
	// parent (GRPO fallback); 0 for plain GRPO.
	NoFailureRate float64 `json:"no_failure_rate"`
	// ParseFailures counts localizations whose primary answer was not
	// used; Fallbacks counts them by rule.
	ParseFailures int            `json:"parse_failures"`
	Fallbacks     map[string]int `json:"fallbacks"`
	// CorrectionRate is the fraction of usable reset trajectories that
	// are correct.
	CorrectionRate float64 `json:"correction_rate"`
	// Localizer is present when the verifier reported first errors.
	Localizer *LocalizerStats `json:"localizer,omitempty"`

	Tokens Tokens `json:"tokens"`
	Time   Times  `json:"time"`
}

type ratio struct{ num, den float64 }

func (r *ratio) add(num, den float64) { r.num += num; r.den += den }
func (r ratio) value() float64 {
	if r.den == 0 {
		return 0
	}
	return r.num / r.den
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ComputeMetrics summarises a step's rollout. It is a pure function of
// res. Ratios over empty sets are 0.
func ComputeMetrics(res *Result) Metrics {
	m := Metrics{
		Prompts: len(res.Prompts), Groups: map[algo.Kind]GroupStats{}, Roles: map[algo.Role]int{},
		Statuses: map[abi.Status]int{}, Fallbacks: map[string]int{}, Tokens: res.Tokens, Time: res.Time,
	}
	type acc struct{ reward, correct ratio }
	kinds := map[algo.Kind]*acc{}
	var fresh acc
	var step, rel, correction, prec, rec, clean, wrong ratio
	noFailure := 0
	for _, p := range res.Prompts {
		for i := range p.Trajs {
			t := &p.Trajs[i]
			m.Roles[t.Role]++
			if t.Role == algo.RoleSurplus {
				continue
			}
			m.Statuses[t.Status]++
			if t.Origin == algo.OriginFresh && t.Usable() {
				fresh.reward.add(t.Reward, 1)
				fresh.correct.add(b2f(t.Correct), 1)
				m.Fresh.Trajectories++
			}
		}
		hasParent := false
		for gi := range p.Groups {
			g := &p.Groups[gi]
			a := kinds[g.Kind]
			if a == nil {
				a = &acc{}
				kinds[g.Kind] = a
			}
			gs := m.Groups[g.Kind]
			gs.Groups++
			for _, ti := range g.Members {
				t := &p.Trajs[ti]
				if t.Role == algo.RoleTrain {
					gs.Trained++
				}
				if !t.Usable() {
					continue
				}
				gs.Trajectories++
				a.reward.add(t.Reward, 1)
				a.correct.add(b2f(t.Correct), 1)
				if g.Kind == algo.KindReset {
					correction.add(b2f(t.Correct), 1)
				}
			}
			m.Groups[g.Kind] = gs
			if g.Kind == algo.KindReset {
				hasParent = true
			}
		}
		if res.Procedure.Parents > 0 && !hasParent {
			noFailure++
		}
		for _, rs := range p.Resets {
			m.Resets++
			step.add(float64(rs.Step), 1)
			if rs.Steps > 0 {
				rel.add(float64(rs.Step)/float64(rs.Steps), 1)
			}
			if fb := rs.Localization.Fallback; fb != "" {
				m.ParseFailures++
				m.Fallbacks[fb]++
			}
			if rs.FirstError == nil || *rs.FirstError < 1 {
				continue
			}
			fe := *rs.FirstError
			prec.add(b2f(rs.Step <= fe), 1)
			rec.add(b2f(rs.Step == fe), 1)
			for i := range p.Trajs {
				t := &p.Trajs[i]
				if t.Origin != algo.OriginReset || t.Parent != rs.Parent || !t.Usable() {
					continue
				}
				if rs.Step <= fe {
					clean.add(b2f(t.Correct), 1)
				} else {
					wrong.add(b2f(t.Correct), 1)
				}
			}
		}
	}
	for k, a := range kinds {
		gs := m.Groups[k]
		gs.Reward, gs.Accuracy = a.reward.value(), a.correct.value()
		m.Groups[k] = gs
	}
	m.Fresh.Reward, m.Fresh.Accuracy = fresh.reward.value(), fresh.correct.value()
	m.ResetStep, m.ResetRelPos = step.value(), rel.value()
	if len(res.Prompts) > 0 {
		m.NoFailureRate = float64(noFailure) / float64(len(res.Prompts))
	}
	m.CorrectionRate = correction.value()
	if prec.den > 0 {
		m.Localizer = &LocalizerStats{
			Evaluated: int(prec.den), Precision: prec.value(), Recall: rec.value(),
			CleanCorrection: clean.value(), CleanN: int(clean.den),
			ErroneousCorrection: wrong.value(), ErroneousN: int(wrong.den),
		}
	}
	return m
}
