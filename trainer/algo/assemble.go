package algo

import (
	"fmt"
	"math"
	"slices"
)

// FreshOutcomes returns the outcomes of p's fresh trajectories in sampling
// order.
func FreshOutcomes(p *Prompt) []Outcome {
	var seq []Outcome
	for i := range p.Trajs {
		if p.Trajs[i].Origin == OriginFresh {
			seq = append(seq, OutcomeOf(&p.Trajs[i]))
		}
	}
	return seq
}

// Assemble assigns every trajectory of p its role, group, advantage and
// loss mask, and fills p.Groups. It is idempotent.
//
// p.Trajs must hold the fresh trajectories in sampling order (Index 0, 1,
// ...) with enough of them for the procedure to stop, and for every
// selected parent exactly proc.ResetSize reset trajectories whose Parent
// is that parent's index in p.Trajs. Groups are ordered: the GRPO or base
// group first, then one reset group per parent in sampling order.
func Assemble(p *Prompt, proc Procedure, cfg Config) error {
	fresh, err := freshIndices(p)
	if err != nil {
		return err
	}
	seq := make([]Outcome, len(fresh))
	for i, ti := range fresh {
		seq[i] = OutcomeOf(&p.Trajs[ti])
	}
	sel, err := proc.Select(seq)
	if err != nil {
		return fmt.Errorf("prompt %d (task %q): %w", p.Index, p.TaskID, err)
	}

	for i := range p.Trajs {
		t := &p.Trajs[i]
		t.Role, t.Group, t.Advantage, t.MaskStart, t.MaskEnd = RoleExtra, -1, 0, 0, 0
	}
	for _, ti := range fresh[sel.Stop:] {
		p.Trajs[ti].Role = RoleSurplus
	}
	at := func(order []int) []int {
		out := make([]int, len(order))
		for i, o := range order {
			out[i] = fresh[o]
		}
		return out
	}
	p.Groups = p.Groups[:0]
	if len(sel.GRPO) > 0 {
		p.Groups = append(p.Groups, Group{Kind: KindGRPO, Members: at(sel.GRPO), Parent: -1})
	}
	if len(sel.Base) > 0 {
		p.Groups = append(p.Groups, Group{Kind: KindBase, Members: at(sel.Base), Parent: -1})
	}
	parents := at(sel.Parents)
	for _, pi := range parents {
		p.Trajs[pi].Role = RoleParent
		members, err := resetMembers(p, pi, proc.ResetSize)
		if err != nil {
			return err
		}
		p.Groups = append(p.Groups, Group{Kind: KindReset, Members: members, Parent: pi})
	}
	for i := range p.Trajs {
		t := &p.Trajs[i]
		if t.Origin == OriginReset && !slices.Contains(parents, t.Parent) {
			return fmt.Errorf("prompt %d: reset trajectory %d continues trajectory %d, which is not a selected parent %v", p.Index, i, t.Parent, parents)
		}
	}
	for gi := range p.Groups {
		if err := normalise(p, gi, cfg); err != nil {
			return err
		}
	}
	return nil
}

func freshIndices(p *Prompt) ([]int, error) {
	var fresh []int
	for i := range p.Trajs {
		t := &p.Trajs[i]
		switch t.Origin {
		case OriginFresh:
			if t.Index != len(fresh) {
				return nil, fmt.Errorf("prompt %d: fresh trajectory at %d has index %d, want %d (fresh trajectories must be in sampling order)", p.Index, i, t.Index, len(fresh))
			}
			fresh = append(fresh, i)
		case OriginReset:
		default:
			return nil, fmt.Errorf("prompt %d: trajectory %d has origin %q, want %q or %q", p.Index, i, t.Origin, OriginFresh, OriginReset)
		}
	}
	return fresh, nil
}

func resetMembers(p *Prompt, parent, size int) ([]int, error) {
	var members []int
	for i := range p.Trajs {
		t := &p.Trajs[i]
		if t.Origin != OriginReset || t.Parent != parent {
			continue
		}
		if t.Index != len(members) {
			return nil, fmt.Errorf("prompt %d: reset trajectory %d of parent %d has index %d, want %d", p.Index, i, parent, t.Index, len(members))
		}
		if t.PrefixLen < 0 || t.PrefixLen > len(t.Tokens) {
			return nil, fmt.Errorf("prompt %d: reset trajectory %d: prefix_len %d outside its %d tokens", p.Index, i, t.PrefixLen, len(t.Tokens))
		}
		members = append(members, i)
	}
	if len(members) != size {
		return nil, fmt.Errorf("prompt %d: parent %d has %d reset trajectories, want %d", p.Index, parent, len(members), size)
	}
	return members, nil
}

// normalise computes group gi's statistics, its members' advantages,
// roles and masks.
func normalise(p *Prompt, gi int, cfg Config) error {
	g := &p.Groups[gi]
	var sum float64
	for _, ti := range g.Members {
		t := &p.Trajs[ti]
		t.Group = gi
		if t.Usable() {
			g.Usable++
			sum += t.Reward
		}
	}
	if g.Usable < len(g.Members) {
		switch cfg.OnUnusable {
		case FailRun:
			for _, ti := range g.Members {
				if t := &p.Trajs[ti]; !t.Usable() {
					detail := ""
					if t.Verdict.Detail != "" {
						detail = " (" + t.Verdict.Detail + ")"
					}
					return fmt.Errorf("prompt %d (task %q): trajectory %d: verdict status %q%s: %w, and the verifier's on_failure.action is %q",
						p.Index, p.TaskID, ti, t.Status, detail, ErrUnusable, FailRun)
				}
			}
		case FailDropGroup:
			g.Dropped = true
		}
	}
	if g.Usable == 0 {
		g.Dropped = true
	}
	if g.Usable > 0 {
		g.Mean = sum / float64(g.Usable)
		var ss float64
		for _, ti := range g.Members {
			if t := &p.Trajs[ti]; t.Usable() {
				d := t.Reward - g.Mean
				ss += d * d
			}
		}
		g.Std = math.Sqrt(ss / float64(g.Usable))
	}
	zero := g.Std < ZeroStd
	if zero && cfg.SkipZeroVar && !g.Dropped {
		g.Skipped = true
	}
	for _, ti := range g.Members {
		t := &p.Trajs[ti]
		switch {
		case g.Dropped || !t.Usable():
			t.Role = RoleDropped
			continue
		case g.Skipped:
			t.Role = RoleSkipped
			continue
		}
		t.Role = RoleTrain
		switch {
		case zero:
			t.Advantage = 0
		case cfg.NoStd:
			t.Advantage = t.Reward - g.Mean
		default:
			t.Advantage = (t.Reward - g.Mean) / g.Std
		}
		t.MaskStart, t.MaskEnd = 0, len(t.Tokens)
		if g.Kind == KindReset && !cfg.NoMask {
			t.MaskStart = t.PrefixLen
		}
	}
	return nil
}
