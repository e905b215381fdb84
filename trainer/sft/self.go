package sft

import (
	"context"
	"fmt"
	"strconv"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// RL sampling settings (docs/method.md): the second stage and the sampled
// evaluation draw solutions as the RL run's fresh phase does.
const (
	rlTemperature = 0.7
	rlTopP        = 0.95
)

// selfExamples samples cfg.Self.Samples solutions of each of the first
// cfg.Self.Tasks stage-1 tasks from the current model, grades them with
// the process verifier and turns every failure with a wrong step into a
// localization example: the self localizer's prompt for that chain with
// the completion \boxed{f}, f the verifier's first error. It returns the
// examples and their f, and records the counts in rep.
func selfExamples(ctx context.Context, pol engine.Policy, cfg Config, tok tokenizer.Tokenizer, rep *Report) ([]engine.Sequence, []int, error) {
	ts, err := tasks.Generate(cfg.Family, cfg.Self.Tasks, cfg.Seed, cfg.Difficulty)
	if err != nil {
		return nil, nil, err
	}
	var prompts []string
	var owners []abi.Task
	for _, t := range ts {
		for range cfg.Self.Samples {
			prompts = append(prompts, cfg.Template.Render(t.Prompt))
			owners = append(owners, t)
		}
	}
	outs, err := decode(ctx, pol, cfg.Model.MaxPositions, prompts, rlTemperature, rlTopP, cfg.Seed^0x5e1f)
	if err != nil {
		return nil, nil, fmt.Errorf("sft: stage 2: %w", err)
	}
	var seqs []engine.Sequence
	var firsts []int
	rep.SelfSamples = len(outs)
	for i, out := range outs {
		t := owners[i]
		v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: out})
		if v.Status != abi.StatusOK {
			return nil, nil, fmt.Errorf("sft: stage 2: verifying task %s: %s: %s", t.ID, v.Status, v.Detail)
		}
		if v.Score == 1 {
			rep.SelfCorrect++
			continue
		}
		f := *v.FirstError
		if f == 0 {
			continue // stopped early: no wrong step to name
		}
		steps := stepStrings(out)
		p := tok.Encode(localizationPrompt(cfg.Template.Kind, t.Prompt, steps))
		c := append(tok.Encode(`\boxed{`+strconv.Itoa(f)+`}`), tok.EOS())
		if len(p)+len(c) > cfg.Model.MaxPositions {
			continue
		}
		ids := append(p, c...)
		w := make([]float32, len(ids))
		for j := len(p); j < len(ids); j++ {
			w[j] = 1
		}
		seqs = append(seqs, engine.Sequence{Tokens: ids, Weights: w})
		firsts = append(firsts, f)
		rep.SelfFirstErrors = count(rep.SelfFirstErrors, f)
	}
	rep.SelfFailures = len(seqs)
	return seqs, firsts, nil
}

// count adds one to hist[k-1], growing hist as needed.
func count(hist []int, k int) []int {
	for len(hist) < k {
		hist = append(hist, 0)
	}
	hist[k-1]++
	return hist
}
