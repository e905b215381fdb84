package rollout

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/localize"
)

// resetRef names one parent's Reset record.
type resetRef struct {
	prompt, reset int
}

// localizePhase selects every prompt's parents (marking surplus fresh
// samples), localizes them all in one call and records the reset points.
func (r *Runner) localizePhase(ctx context.Context, seed uint64, step int, tasks []Task, res *Result) ([]resetRef, error) {
	var reqs []localize.Request
	var refs []resetRef
	for i, p := range res.Prompts {
		fresh := freshIndex(&p.Prompt)
		sel, err := r.cfg.Procedure.Select(algo.FreshOutcomes(&p.Prompt))
		if err != nil {
			return nil, fmt.Errorf("rollout: prompt %d: %w", i, err)
		}
		for o, fi := range sel.Parents {
			pi := fresh[fi]
			t := &p.Trajs[pi]
			p.Resets = append(p.Resets, Reset{Parent: pi, Ordinal: o, Steps: len(t.Steps), FirstError: t.Verdict.FirstError})
			refs = append(refs, resetRef{prompt: i, reset: o})
			off := byteOffsets(r.tok, t.Tokens, t.Text)
			spans := byteSpans(off, t.Steps)
			texts := make([]string, len(spans))
			for k, s := range spans {
				texts[k] = t.Text[s.Start:s.End]
			}
			v := t.Verdict
			reqs = append(reqs, localize.Request{
				Task: tasks[i].Task, Response: t.Text, Steps: texts, Spans: spans, Verdict: &v,
				Seed:  Seed(seed, step, i, streamLocalize, o, 0),
				Stats: StepStats(t),
			})
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	locs, err := r.localizer.Localize(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("rollout: localize: %w", err)
	}
	if len(locs) != len(reqs) {
		return nil, fmt.Errorf("rollout: localize: %d results for %d requests", len(locs), len(reqs))
	}
	for q, ref := range refs {
		p := res.Prompts[ref.prompt]
		rs := &p.Resets[ref.reset]
		rs.Localization = locs[q]
		res.Tokens.Localize += locs[q].Tokens
		// Localizers return 1..n; clamp anyway so that a misbehaving one
		// cannot index past the parent's steps.
		rs.Step = min(max(locs[q].Step, 1), max(rs.Steps, 1))
		if rs.Step > 1 {
			rs.PrefixLen = p.Trajs[rs.Parent].Steps[rs.Step-2].End
		}
	}
	return refs, nil
}

// resetPhase generates every reset group in one batched generation.
func (r *Runner) resetPhase(ctx context.Context, seed uint64, step int, tasks []Task, res *Result, refs []resetRef, pl *pool) (int, error) {
	var jobs []*job
	for _, ref := range refs {
		p := res.Prompts[ref.prompt]
		rs := p.Resets[ref.reset]
		for ri := range r.cfg.Procedure.ResetSize {
			s := Seed(seed, step, ref.prompt, streamReset, rs.Ordinal, ri)
			p.Trajs = append(p.Trajs, algo.Trajectory{
				Origin: algo.OriginReset, Index: ri, Parent: rs.Parent, ResetStep: rs.Step, PrefixLen: rs.PrefixLen, Seed: s,
			})
		}
	}
	// Jobs are made after all appends so that each job's trajectory index
	// stays valid.
	for _, ref := range refs {
		p := res.Prompts[ref.prompt]
		rs := p.Resets[ref.reset]
		parent := &p.Trajs[rs.Parent]
		prefix := &job{
			tokens: parent.Tokens[:rs.PrefixLen],
			logps:  parent.LogProbs[:min(rs.PrefixLen, len(parent.LogProbs))],
			ents:   parent.Entropies[:min(rs.PrefixLen, len(parent.Entropies))],
			steps:  parent.Steps[:rs.Step-1],
			prefix: rs.PrefixLen,
		}
		for ti := range p.Trajs {
			if t := &p.Trajs[ti]; t.Origin == algo.OriginReset && t.Parent == rs.Parent {
				jobs = append(jobs, r.newJob(ctx, pl, &tasks[ref.prompt], p, ti, prefix, t.Seed))
			}
		}
	}
	n, err := r.generate(ctx, jobs)
	pl.wait()
	if err != nil {
		return n, err
	}
	if err := ctx.Err(); err != nil {
		return n, fmt.Errorf("rollout: %w", err)
	}
	return n, nil
}

// freshIndex maps fresh sampling order to indices in p.Trajs.
func freshIndex(p *algo.Prompt) []int {
	var out []int
	for i := range p.Trajs {
		if p.Trajs[i].Origin == algo.OriginFresh {
			out = append(out, i)
		}
	}
	return out
}
