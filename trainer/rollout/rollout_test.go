package rollout

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/localize"
)

func newRunner(t *testing.T, v algo.Variant, mode Mode, edit func(*Config)) (*Runner, *fakePolicy) {
	t.Helper()
	cfg, err := DefaultConfig(v)
	require.NoError(t, err)
	cfg.Mode = mode
	cfg.MaxTokens, cfg.StepTokens = 200, 40
	if edit != nil {
		edit(&cfg)
	}
	pol := &fakePolicy{}
	r, err := New(cfg, Options{
		Policy: pol, Verifier: fakeVerifier{}, Segmenter: delimSegmenter{},
		Localizer: localize.NewPlugin(lastStep{}, 4),
	})
	require.NoError(t, err)
	return r, pol
}

func tasks(n int) []Task {
	out := make([]Task, n)
	for i := range out {
		out[i] = Task{Task: abi.Task{ID: string(rune('a' + i))}, PromptIDs: []int{i, 10, 11}}
	}
	return out
}

// sequential runs docs/method.md's procedure one sample at a time: fresh
// trajectories until the procedure stops, each parent localized alone,
// each reset continuation generated alone.
func sequential(t *testing.T, r *Runner, seed uint64, step int, ts []Task) []*PromptResult {
	ctx := context.Background()
	proc := r.cfg.Procedure
	var out []*PromptResult
	one := func(p *PromptResult, i, ti int, from *job) {
		pl := newPool(1, time.Now)
		j := r.newJob(ctx, pl, &ts[i], p, ti, from, p.Trajs[ti].Seed)
		_, err := r.generate(ctx, []*job{j})
		require.NoError(t, err)
		pl.wait()
	}
	for i := range ts {
		p := &PromptResult{Prompt: algo.Prompt{Index: i, TaskID: ts[i].Task.ID, PromptIDs: ts[i].PromptIDs}}
		for f := 0; proc.Need(algo.FreshOutcomes(&p.Prompt)) > 0; f++ {
			p.Trajs = append(p.Trajs, algo.Trajectory{Origin: algo.OriginFresh, Index: f, Parent: -1, Seed: Seed(seed, step, i, streamFresh, f, 0)})
			one(p, i, len(p.Trajs)-1, nil)
		}
		sel, err := proc.Select(algo.FreshOutcomes(&p.Prompt))
		require.NoError(t, err)
		for o, pi := range sel.Parents {
			parent := p.Trajs[pi]
			spans := byteSpans(byteOffsets(r.tok, parent.Tokens, parent.Text), parent.Steps)
			locs, err := r.localizer.Localize(ctx, []localize.Request{{Spans: spans, Seed: Seed(seed, step, i, streamLocalize, o, 0)}})
			require.NoError(t, err)
			k := locs[0].Step
			prefixLen := 0
			if k > 1 {
				prefixLen = parent.Steps[k-2].End
			}
			p.Resets = append(p.Resets, Reset{Parent: pi, Ordinal: o, Steps: len(parent.Steps), Step: k, PrefixLen: prefixLen})
			from := &job{tokens: parent.Tokens[:prefixLen], logps: parent.LogProbs[:prefixLen], steps: parent.Steps[:k-1], prefix: prefixLen}
			for ri := range proc.ResetSize {
				p.Trajs = append(p.Trajs, algo.Trajectory{Origin: algo.OriginReset, Index: ri, Parent: pi, ResetStep: k, PrefixLen: prefixLen, Seed: Seed(seed, step, i, streamReset, o, ri)})
			}
			for ti := range p.Trajs {
				if p.Trajs[ti].Origin == algo.OriginReset && p.Trajs[ti].Parent == pi {
					one(p, i, ti, from)
				}
			}
		}
		require.NoError(t, algo.Assemble(&p.Prompt, proc, r.cfg.Algo))
		out = append(out, p)
	}
	return out
}

// TestPhasedEqualsSequential checks that the batched phases pick the same
// parents, groups, reset points, advantages and masks as the sequential
// procedure for the same sample stream. Prompts cover every success rate
// from 0 to 1 (so the no-failure fallback, late parents and extras all
// occur), and the verifier times out on some responses.
func TestPhasedEqualsSequential(t *testing.T) {
	for _, v := range algo.Variants() {
		for _, mode := range []Mode{ModeThought, ModeWhole} {
			t.Run(string(v)+"/"+string(mode), func(t *testing.T) {
				r, _ := newRunner(t, v, mode, nil)
				ts := tasks(15)
				res, err := r.Run(context.Background(), 42, 3, ts)
				require.NoError(t, err)
				seq := sequential(t, r, 42, 3, ts)
				roles := map[algo.Role]int{}
				for i, p := range res.Prompts {
					for _, tr := range p.Trajs {
						roles[tr.Role]++
					}
					got := withoutSurplus(p)
					want := seq[i]
					require.Equal(t, want.Trajs, got.Trajs, "prompt %d", i)
					require.Equal(t, want.Groups, got.Groups, "prompt %d", i)
					for k := range want.Resets {
						want.Resets[k].FirstError = got.Resets[k].FirstError
						want.Resets[k].Localization = got.Resets[k].Localization
					}
					require.Equal(t, want.Resets, got.Resets, "prompt %d", i)
				}
				if v != algo.VariantGRPO {
					require.Positive(t, roles[algo.RoleParent])
					require.Positive(t, res.Tokens.Reset)
				}
				require.Positive(t, roles[algo.RoleTrain])
				require.Positive(t, roles[algo.RoleDropped], "the fake verifier times out on some samples")
			})
		}
	}
}

func TestRunInvariants(t *testing.T) {
	r, pol := newRunner(t, algo.Variant1x4, ModeThought, nil)
	res, err := r.Run(context.Background(), 1, 0, tasks(10))
	require.NoError(t, err)
	require.Equal(t, 2, res.Rounds)
	trained := 0
	for _, p := range res.Prompts {
		for _, g := range p.Groups {
			require.Len(t, g.Members, 4+4*btoi(g.Kind == algo.KindGRPO))
			var sum float64
			for _, ti := range g.Members {
				sum += p.Trajs[ti].Advantage
			}
			require.InDelta(t, 0, sum, 1e-9)
		}
		for _, tr := range p.Trajs {
			switch tr.Role {
			case algo.RoleTrain:
				trained++
				require.Equal(t, abi.StatusOK, tr.Status)
				require.Equal(t, "abc", tr.Verdict.SHA256)
			case algo.RoleDropped:
				require.False(t, tr.Usable())
				require.Zero(t, tr.MaskEnd)
			default:
				require.Zero(t, tr.MaskEnd)
			}
			if tr.Origin == algo.OriginReset {
				parent := p.Trajs[tr.Parent]
				require.Equal(t, algo.RoleParent, parent.Role)
				require.Equal(t, parent.Tokens[:tr.PrefixLen], tr.Tokens[:tr.PrefixLen], "token-exact prefix")
				require.Equal(t, parent.Steps[:tr.ResetStep-1], tr.Steps[:tr.ResetStep-1])
				if tr.Role == algo.RoleTrain {
					require.Equal(t, [2]int{tr.PrefixLen, len(tr.Tokens)}, [2]int{tr.MaskStart, tr.MaskEnd})
				}
			}
			require.Equal(t, tr.Text, byteTok{}.Decode(tr.Tokens))
			require.Len(t, tr.LogProbs, len(tr.Tokens))
		}
	}
	require.Positive(t, trained)
	// Every thought-mode call asks for one step ending at the delimiter
	// and continues from the token ids generated so far.
	for _, call := range pol.calls {
		for _, q := range call {
			require.Equal(t, []string{"</thought>"}, q.Sampling.StopStrings)
			require.Equal(t, float32(0.7), q.Sampling.Temperature)
			require.Equal(t, float32(0.95), q.Sampling.TopP)
			require.Equal(t, []int{256}, q.Sampling.StopTokens)
		}
	}
	batch, refs, err := algo.BuildBatch(res.AlgoPrompts(), r.cfg.Algo)
	require.NoError(t, err)
	require.Len(t, batch.Seqs, len(refs))
	m := ComputeMetrics(res)
	require.Equal(t, 10, m.Prompts)
	require.Equal(t, trained, m.Roles[algo.RoleTrain])
	require.Positive(t, res.Tokens.Fresh)
	require.Positive(t, res.Tokens.Parent)
	require.Zero(t, res.Tokens.Localize)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// withoutSurplus returns a copy of p without its surplus trajectories,
// indices renumbered, for comparison with the sequential procedure (which
// never draws them).
func withoutSurplus(p *PromptResult) *PromptResult {
	remap := map[int]int{-1: -1}
	out := &PromptResult{Prompt: algo.Prompt{Index: p.Index, TaskID: p.TaskID, PromptIDs: p.PromptIDs}}
	for i, tr := range p.Trajs {
		if tr.Role != algo.RoleSurplus {
			remap[i] = len(out.Trajs)
			out.Trajs = append(out.Trajs, tr)
		}
	}
	for i := range out.Trajs {
		out.Trajs[i].Parent = remap[out.Trajs[i].Parent]
	}
	for _, g := range p.Groups {
		g.Parent = remap[g.Parent]
		g.Members = append([]int(nil), g.Members...)
		for k := range g.Members {
			g.Members[k] = remap[g.Members[k]]
		}
		out.Groups = append(out.Groups, g)
	}
	for _, rs := range p.Resets {
		rs.Parent = remap[rs.Parent]
		out.Resets = append(out.Resets, rs)
	}
	return out
}
