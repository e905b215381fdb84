package warmstart

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/cpu"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Alphabet is the character set of the warm-start tokenizer: printable
// ASCII and the newline. Specials are Specials.
const Alphabet = "\n !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

// Specials are the special tokens of the warm-start tokenizer: the end of
// text (EOS), the step delimiter as one token, and the chat markers.
var Specials = []string{tokenizer.EndOfText, tokenizer.EndThought, tokenizer.IMStart, tokenizer.IMEnd}

// SFTReport is what a warm start measured; it is written as sft.json.
type SFTReport struct {
	Family     string  `json:"family"`
	Difficulty int     `json:"difficulty"`
	Params     int     `json:"params"`
	Steps      int     `json:"steps"`
	Examples   int     `json:"examples"`
	TooLong    int     `json:"too_long"` // examples dropped: longer than the context
	FinalLoss  float64 `json:"final_loss"`
	Seconds    float64 `json:"train_seconds"`
	TokensPerS float64 `json:"train_tokens_per_s"`
	// Accuracy is greedy pass@1 on EvalTasks held-out tasks.
	Accuracy  float64 `json:"accuracy"`
	EvalTasks int     `json:"eval_tasks"`
	// Of the failed held-out solutions, those with a wrong step (the
	// process verifier's first error f >= 1) are localized by the model:
	// precision is the share with k <= f (a reset at or before the first
	// error keeps a clean prefix), exact the share with k == f.
	Failed       int     `json:"failed"`
	Localized    int     `json:"localized"`
	LocPrecision float64 `json:"loc_precision"`
	LocExact     float64 `json:"loc_exact"`
	// The same on held-out synthetic flawed chains.
	Chains            int     `json:"chains"`
	ChainLocPrecision float64 `json:"chain_loc_precision"`
	ChainLocExact     float64 `json:"chain_loc_exact"`
	EvalSeconds       float64 `json:"eval_seconds"`
	// Model is the checkpoint folder, usable as model.path of rewind train.
	Model string `json:"model"`
}

// SFT trains a model from scratch on Examples, saves it under cfg.Out and
// evaluates it on held-out tasks. Progress goes to log. It is
// deterministic in cfg up to the engine's own reproducibility.
func SFT(ctx context.Context, cfg SFTConfig, log *slog.Logger) (SFTReport, error) {
	if err := cfg.Validate(); err != nil {
		return SFTReport{}, err
	}
	tok, err := tokenizer.NewChar(Alphabet, Specials)
	if err != nil {
		return SFTReport{}, err
	}
	mc, err := model.Preset(cfg.Model.Preset)
	if err != nil {
		return SFTReport{}, err
	}
	mc = mc.WithVocab(tok.VocabSize())
	mc.MaxPositions = cfg.Model.MaxPositions
	mc.EOS = tok.EOS()
	pol, err := cpu.New(mc, tok, model.InitWeights(mc, cfg.Seed), engine.Optim{
		LR: cfg.LR, WeightDecay: cfg.WeightDecay, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, GradClip: cfg.GradClip,
		Schedule: cfg.Schedule, WarmupSteps: cfg.Warmup, TotalSteps: cfg.Steps,
	})
	if err != nil {
		return SFTReport{}, err
	}
	rep := SFTReport{Family: cfg.Family, Difficulty: cfg.Difficulty, Params: mc.NumParams(), Steps: cfg.Steps}

	exs, err := examples(cfg.Family, cfg.Examples, cfg.Seed, cfg.Difficulty, cfg.ErrorRate, cfg.LocFraction, cfg.Template.Kind)
	if err != nil {
		return rep, err
	}
	seqs, seen := encodeExamples(tok, cfg, exs, &rep)
	if len(seqs) == 0 {
		return rep, fmt.Errorf("sft: every example is longer than model.max_positions = %d", cfg.Model.MaxPositions)
	}
	log.Info("sft: start", "family", cfg.Family, "difficulty", cfg.Difficulty, "params", rep.Params,
		"examples", len(seqs), "too_long", rep.TooLong, "steps", cfg.Steps, "batch", cfg.Batch)

	start := time.Now()
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5f7))
	order := r.Perm(len(seqs))
	pos, tokens := 0, 0
	var lossSum float64
	var lossN int
	for step := 1; step <= cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		batch := make([]engine.Sequence, 0, cfg.Batch)
		for len(batch) < cfg.Batch {
			if pos == len(order) {
				order, pos = r.Perm(len(seqs)), 0
			}
			batch = append(batch, seqs[order[pos]])
			pos++
		}
		st, err := pol.Update(ctx, engine.Batch{Seqs: normalise(batch), Loss: engine.LossPG})
		if err != nil {
			return rep, fmt.Errorf("sft: step %d: %w", step, err)
		}
		tokens += st.Tokens
		lossSum += st.Loss
		lossN++
		if step%cfg.LogEvery == 0 || step == cfg.Steps {
			el := time.Since(start).Seconds()
			rep.FinalLoss = lossSum / float64(lossN)
			log.Info("sft", "step", step, "loss", fmt.Sprintf("%.4f", rep.FinalLoss), "grad_norm", fmt.Sprintf("%.3f", st.GradNorm),
				"lr", fmt.Sprintf("%.2e", st.LR), "tokens_per_s", int(float64(tokens)/el))
			lossSum, lossN = 0, 0
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.TokensPerS = float64(tokens) / rep.Seconds

	rep.Model = filepath.Join(cfg.Out, "model")
	if err := pol.Save(rep.Model); err != nil {
		return rep, fmt.Errorf("sft: save: %w", err)
	}
	evalStart := time.Now()
	if err := evaluate(ctx, pol, cfg, seen, &rep); err != nil {
		return rep, err
	}
	rep.EvalSeconds = time.Since(evalStart).Seconds()
	log.Info("sft: done", "accuracy", rep.Accuracy, "loc_precision", rep.LocPrecision, "loc_exact", rep.LocExact,
		"chain_loc_exact", rep.ChainLocExact, "model", rep.Model)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return rep, err
	}
	return rep, os.WriteFile(filepath.Join(cfg.Out, "sft.json"), append(b, '\n'), 0o644)
}

// encodeExamples tokenizes examples as prompt + completion + EOS, with
// weight 1 on the completion and EOS positions, dropping those longer than
// the context. It returns the sequences and the task prompts seen.
func encodeExamples(tok tokenizer.Tokenizer, cfg SFTConfig, exs []Example, rep *SFTReport) ([]engine.Sequence, map[string]bool) {
	tmpl := cfg.Template.Data()
	seen := map[string]bool{}
	var seqs []engine.Sequence
	for _, ex := range exs {
		prompt := ex.Prompt
		if ex.Kind == KindSolve {
			seen[ex.Prompt] = true
			prompt = tmpl.Render(ex.Prompt)
		}
		p := tok.Encode(prompt)
		c := append(tok.Encode(ex.Completion), tok.EOS())
		if len(p)+len(c) > cfg.Model.MaxPositions {
			rep.TooLong++
			continue
		}
		ids := append(p, c...)
		w := make([]float32, len(ids))
		for i := len(p); i < len(ids); i++ {
			w[i] = 1
		}
		seqs = append(seqs, engine.Sequence{Tokens: ids, Weights: w})
	}
	// Localization examples show task prompts too (inside the template).
	for _, ex := range exs {
		if ex.Kind == KindLocalize {
			if line, _, ok := strings.Cut(strings.TrimPrefix(ex.Prompt, "Problem: "), "\n"); ok {
				seen[line] = true
			}
		}
	}
	rep.Examples = len(seqs)
	return seqs, seen
}

// normalise scales the 0/1 masks of a batch so that the loss is the mean
// negative log-likelihood over its completion tokens.
func normalise(batch []engine.Sequence) []engine.Sequence {
	n := 0
	for _, s := range batch {
		for _, w := range s.Weights {
			if w != 0 {
				n++
			}
		}
	}
	out := make([]engine.Sequence, len(batch))
	for i, s := range batch {
		w := make([]float32, len(s.Weights))
		for t, v := range s.Weights {
			w[t] = v / float32(n)
		}
		out[i] = engine.Sequence{Tokens: s.Tokens, Weights: w}
	}
	return out
}

// heldOut returns n tasks that are not among the training prompts.
func heldOut(cfg SFTConfig, seen map[string]bool, n int) ([]abi.Task, error) {
	ts, err := tasks.GenerateExcluding(cfg.Family, n, cfg.Seed+1_000_003, cfg.Difficulty, func(p string) bool { return seen[p] })
	if err != nil {
		return nil, fmt.Errorf("sft: held-out tasks: %w", err)
	}
	return ts, nil
}

// greedy decodes the continuation of each prompt greedily until EOS or
// the end of the context.
func greedy(ctx context.Context, pol engine.Policy, maxPos int, prompts []string) ([]string, error) {
	tok := pol.Tokenizer()
	reqs := make([]engine.GenRequest, len(prompts))
	for i, p := range prompts {
		ids := tok.Encode(p)
		if len(ids) >= maxPos {
			return nil, fmt.Errorf("sft: eval prompt %d is %d tokens, the context is %d", i, len(ids), maxPos)
		}
		reqs[i] = engine.GenRequest{Prompt: ids, Sampling: engine.Sampling{MaxNewTokens: maxPos - len(ids), StopTokens: []int{tok.EOS()}}}
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

// evaluate measures greedy accuracy on held-out tasks and the model's
// localization of its own failures and of synthetic flawed chains.
func evaluate(ctx context.Context, pol engine.Policy, cfg SFTConfig, seen map[string]bool, rep *SFTReport) error {
	maxPos := cfg.Model.MaxPositions
	ts, err := heldOut(cfg, seen, max(cfg.EvalTasks, cfg.EvalChains))
	if err != nil {
		return err
	}
	solveTasks := ts[:cfg.EvalTasks]
	prompts := make([]string, len(solveTasks))
	for i, t := range solveTasks {
		prompts[i] = cfg.Template.Data().Render(t.Prompt)
	}
	outs, err := greedy(ctx, pol, maxPos, prompts)
	if err != nil {
		return err
	}
	var locPrompts []string
	var firsts, counts []int
	correct := 0
	for i, t := range solveTasks {
		v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: outs[i]})
		if v.Status != abi.StatusOK {
			return fmt.Errorf("sft: eval: verifying task %s: %s: %s", t.ID, v.Status, v.Detail)
		}
		if v.Score == 1 {
			correct++
			continue
		}
		rep.Failed++
		if *v.FirstError == 0 {
			continue // stopped early: no wrong step to find
		}
		steps := stepStrings(outs[i])
		locPrompts = append(locPrompts, localizationPrompt(cfg.Template.Kind, t.Prompt, steps))
		firsts = append(firsts, *v.FirstError)
		counts = append(counts, len(steps))
	}
	rep.EvalTasks = len(solveTasks)
	if rep.EvalTasks > 0 {
		rep.Accuracy = float64(correct) / float64(rep.EvalTasks)
	}
	rep.Localized, rep.LocPrecision, rep.LocExact, err = localizeAll(ctx, pol, maxPos, locPrompts, firsts, counts)
	if err != nil {
		return err
	}

	locPrompts, firsts, counts = nil, nil, nil
	r := rand.New(rand.NewPCG(cfg.Seed+7, 7))
	for _, t := range ts[:cfg.EvalChains] {
		c, err := tasks.FlawedFirstUniform(t, r, cfg.ErrorRate)
		if err != nil {
			return err
		}
		if c.FirstError() == 0 {
			continue
		}
		locPrompts = append(locPrompts, localizationPrompt(cfg.Template.Kind, t.Prompt, c.Steps))
		firsts = append(firsts, c.FirstError())
		counts = append(counts, len(c.Steps))
	}
	rep.Chains, rep.ChainLocPrecision, rep.ChainLocExact, err = localizeAll(ctx, pol, maxPos, locPrompts, firsts, counts)
	return err
}

// localizeAll asks the model for the first wrong step of each prompt
// (greedy, parsed with the self localizer's rules) and scores the answers
// against the true first errors. Prompts that do not fit the context are
// skipped.
func localizeAll(ctx context.Context, pol engine.Policy, maxPos int, prompts []string, firsts, counts []int) (n int, precision, exact float64, err error) {
	tok := pol.Tokenizer()
	var fit []string
	var fitFirst, fitCount []int
	for i, p := range prompts {
		if len(tok.Encode(p)) < maxPos-4 {
			fit = append(fit, p)
			fitFirst = append(fitFirst, firsts[i])
			fitCount = append(fitCount, counts[i])
		}
	}
	if len(fit) == 0 {
		return 0, 0, 0, nil
	}
	outs, err := greedy(ctx, pol, maxPos, fit)
	if err != nil {
		return 0, 0, 0, err
	}
	var le, eq int
	for i, o := range outs {
		k, _, _ := localize.Parse(o, fitCount[i])
		if k <= fitFirst[i] {
			le++
		}
		if k == fitFirst[i] {
			eq++
		}
	}
	return len(fit), float64(le) / float64(len(fit)), float64(eq) / float64(len(fit)), nil
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
