package sft

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// heldOut returns n tasks that are not among the training prompts.
func heldOut(cfg Config, seen map[string]bool, n int) ([]abi.Task, error) {
	ts, err := tasks.GenerateExcluding(cfg.Family, n, cfg.Seed+1_000_003, cfg.Difficulty, func(p string) bool { return seen[p] })
	if err != nil {
		return nil, fmt.Errorf("sft: held-out tasks: %w", err)
	}
	return ts, nil
}

// greedy decodes the continuation of each prompt greedily until EOS or
// the end of the context.
func greedy(ctx context.Context, pol engine.Policy, maxPos int, prompts []string) ([]string, error) {
	return decode(ctx, pol, maxPos, prompts, 0, 0, 0)
}

// decode continues each prompt until EOS or the end of the context, at
// the given temperature and top-p; request i samples with seed seed+i.
func decode(ctx context.Context, pol engine.Policy, maxPos int, prompts []string, temperature, topP float32, seed uint64) ([]string, error) {
	tok := pol.Tokenizer()
	reqs := make([]engine.GenRequest, len(prompts))
	for i, p := range prompts {
		ids := tok.Encode(p)
		if len(ids) >= maxPos {
			return nil, fmt.Errorf("sft: eval prompt %d is %d tokens, the context is %d", i, len(ids), maxPos)
		}
		reqs[i] = engine.GenRequest{Prompt: ids, Seed: seed + uint64(i), Sampling: engine.Sampling{
			Temperature: temperature, TopP: topP, MaxNewTokens: maxPos - len(ids), StopTokens: []int{tok.EOS()}}}
	}
	res, err := pol.Generate(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("sft: eval: generate: %w", err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = strings.TrimSuffix(r.Text, tokenizer.EndOfText)
	}
	return out, nil
}

// greedyAccuracy is the share of ts that the policy solves greedily.
func greedyAccuracy(ctx context.Context, pol engine.Policy, cfg Config, ts []abi.Task) (float64, error) {
	prompts := make([]string, len(ts))
	for i, t := range ts {
		prompts[i] = cfg.Template.Render(t.Prompt)
	}
	outs, err := greedy(ctx, pol, cfg.Model.MaxPositions, prompts)
	if err != nil {
		return 0, err
	}
	right := 0
	for i, t := range ts {
		v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: outs[i]})
		if v.Status != abi.StatusOK {
			return 0, fmt.Errorf("sft: validation: verifying task %s: %s: %s", t.ID, v.Status, v.Detail)
		}
		if v.Score == 1 {
			right++
		}
	}
	return float64(right) / float64(len(ts)), nil
}

// failures collects the localization prompts of failed solutions with a
// wrong step, their true first errors and step counts.
type failures struct {
	prompts       []string
	firsts, steps []int
}

func (f *failures) add(prompt string, first, steps int) {
	f.prompts = append(f.prompts, prompt)
	f.firsts = append(f.firsts, first)
	f.steps = append(f.steps, steps)
}

// grade verifies a solution of t; on a failure with a wrong step it adds
// the chain's localization prompt to fs. It reports whether it was right.
func grade(cfg Config, t abi.Task, out string, fs *failures) (bool, error) {
	v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: out})
	if v.Status != abi.StatusOK {
		return false, fmt.Errorf("sft: eval: verifying task %s: %s: %s", t.ID, v.Status, v.Detail)
	}
	if v.Score == 1 {
		return true, nil
	}
	if *v.FirstError > 0 { // else stopped early: no wrong step to find
		steps := stepStrings(out)
		fs.add(localizationPrompt(cfg.Template.Kind, t.Prompt, steps), *v.FirstError, len(steps))
	}
	return false, nil
}

// evaluate measures greedy accuracy on held-out tasks and the model's
// localization of its own greedy failures; the same with EvalSamples
// samples per task at the RL settings; and localization of synthetic
// flawed chains.
func evaluate(ctx context.Context, pol engine.Policy, cfg Config, seen map[string]bool, rep *Report) error {
	maxPos := cfg.Model.MaxPositions
	ts, err := heldOut(cfg, seen, max(cfg.EvalTasks, cfg.EvalChains))
	if err != nil {
		return err
	}
	solveTasks := ts[:cfg.EvalTasks]
	prompts := make([]string, len(solveTasks))
	for i, t := range solveTasks {
		prompts[i] = cfg.Template.Render(t.Prompt)
	}
	outs, err := greedy(ctx, pol, maxPos, prompts)
	if err != nil {
		return err
	}
	var fs failures
	correct := 0
	for i, t := range solveTasks {
		ok, err := grade(cfg, t, outs[i], &fs)
		if err != nil {
			return err
		}
		if ok {
			correct++
		} else {
			rep.Failed++
		}
	}
	rep.EvalTasks = len(solveTasks)
	if rep.EvalTasks > 0 {
		rep.Accuracy = float64(correct) / float64(rep.EvalTasks)
	}
	sc, err := localizeAll(ctx, pol, maxPos, fs)
	if err != nil {
		return err
	}
	rep.Localized, rep.LocPrecision, rep.LocExact = sc.n, sc.precision, sc.exact

	if k := cfg.EvalSamples; k > 0 && len(solveTasks) > 0 {
		var sp []string
		for _, p := range prompts {
			for range k {
				sp = append(sp, p)
			}
		}
		souts, err := decode(ctx, pol, maxPos, sp, rlTemperature, rlTopP, cfg.Seed^0xe7a1)
		if err != nil {
			return err
		}
		var sfs failures
		right, solved, mixed := 0, 0, 0
		for i, t := range solveTasks {
			c := 0
			for j := range k {
				ok, err := grade(cfg, t, souts[i*k+j], &sfs)
				if err != nil {
					return err
				}
				if ok {
					c++
				}
			}
			right += c
			if c > 0 {
				solved++
			}
			if c > 0 && c < k {
				mixed++
			}
		}
		n := float64(len(solveTasks))
		rep.EvalSamples = k
		rep.SampleAccuracy, rep.PassAtK, rep.MixedGroups = float64(right)/(n*float64(k)), float64(solved)/n, float64(mixed)/n
		sc, err := localizeAll(ctx, pol, maxPos, sfs)
		if err != nil {
			return err
		}
		rep.SampledLocalized, rep.SampledLocPrecision, rep.SampledLocExact = sc.n, sc.precision, sc.exact
		rep.SampledFirstErrors, rep.SampledAnswers = sc.firsts, sc.answers
	}

	var cfs failures
	r := rand.New(rand.NewPCG(cfg.Seed+7, 7))
	for _, t := range ts[:cfg.EvalChains] {
		c, err := tasks.FlawedFirstUniform(t, r, cfg.ErrorRate)
		if err != nil {
			return err
		}
		if c.FirstError() == 0 {
			continue
		}
		cfs.add(localizationPrompt(cfg.Template.Kind, t.Prompt, c.Steps), c.FirstError(), len(c.Steps))
	}
	sc, err = localizeAll(ctx, pol, maxPos, cfs)
	rep.Chains, rep.ChainLocPrecision, rep.ChainLocExact = sc.n, sc.precision, sc.exact
	return err
}

// locScore is how well the model localized a set of failures.
type locScore struct {
	n                int
	precision, exact float64
	// firsts and answers are histograms (index k-1) of the true first
	// errors and of the model's answers.
	firsts, answers []int
}

// localizeAll asks the model for the first wrong step of each failure
// (greedy, parsed with the self localizer's rules) and scores the answers
// against the true first errors. Prompts that do not fit the context are
// skipped.
func localizeAll(ctx context.Context, pol engine.Policy, maxPos int, fs failures) (locScore, error) {
	tok := pol.Tokenizer()
	var fit failures
	for i, p := range fs.prompts {
		if len(tok.Encode(p)) < maxPos-4 {
			fit.add(p, fs.firsts[i], fs.steps[i])
		}
	}
	if len(fit.prompts) == 0 {
		return locScore{}, nil
	}
	outs, err := greedy(ctx, pol, maxPos, fit.prompts)
	if err != nil {
		return locScore{}, err
	}
	var sc locScore
	var le, eq int
	for i, o := range outs {
		k, _, _ := localize.Parse(o, fit.steps[i])
		f := fit.firsts[i]
		if k <= f {
			le++
		}
		if k == f {
			eq++
		}
		sc.firsts = count(sc.firsts, f)
		sc.answers = count(sc.answers, k)
	}
	n := len(fit.prompts)
	sc.n, sc.precision, sc.exact = n, float64(le)/float64(n), float64(eq)/float64(n)
	return sc, nil
}

// stepStrings returns the step texts of a response, as the trainer hands
// them to the self localizer.
func stepStrings(response string) []string {
	spans := tasks.SplitSteps(response)
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = response[s.Start:s.End]
	}
	return out
}
