package sft

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Alphabet is the character set of the warm-start tokenizer: printable
// ASCII and the newline. Specials are Specials.
const Alphabet = "\n !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

// Specials are the special tokens of the warm-start tokenizer: the end of
// text (EOS), the step delimiter as one token, and the chat markers.
var Specials = []string{tokenizer.EndOfText, tokenizer.EndThought, tokenizer.IMStart, tokenizer.IMEnd}

// Report is what a warm start measured; it is written as sft.json.
type Report struct {
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
	// EvalSamples solutions per held-out task sampled at temperature 0.7,
	// top-p 0.95 (the RL settings): SampleAccuracy is the share correct,
	// PassAtK the share of tasks with one correct, MixedGroups the share
	// with some but not all correct (GRPO's groups with a signal).
	EvalSamples    int     `json:"eval_samples"`
	SampleAccuracy float64 `json:"sample_accuracy"`
	PassAtK        float64 `json:"pass_at_k"`
	MixedGroups    float64 `json:"mixed_groups"`
	// The sampled failures with a wrong step (what the self localizer sees
	// in RL), localized greedily: precision k <= f, exact k == f (the
	// trainer's localizer recall), and the histograms of the true first
	// errors f and of the answers k (index k-1).
	SampledLocalized    int     `json:"sampled_localized"`
	SampledLocPrecision float64 `json:"sampled_loc_precision"`
	SampledLocExact     float64 `json:"sampled_loc_exact"`
	SampledFirstErrors  []int   `json:"sampled_first_errors"`
	SampledAnswers      []int   `json:"sampled_answers"`
	// Second stage (self.steps > 0): of SelfSamples solutions of training
	// tasks, SelfCorrect were right and SelfFailures failed at a wrong
	// step and became localization examples; SelfFirstErrors is their
	// histogram of first errors (index k-1).
	SelfSamples     int     `json:"self_samples,omitempty"`
	SelfCorrect     int     `json:"self_correct,omitempty"`
	SelfFailures    int     `json:"self_failures,omitempty"`
	SelfFirstErrors []int   `json:"self_first_errors,omitempty"`
	EvalSeconds     float64 `json:"eval_seconds"`
	// StopChecks are the validation checks of stop.accuracy; StoppedAt is
	// the stage-1 step where the target was reached (0: it was not, or no
	// target was set).
	StopChecks []StopCheck `json:"stop_checks,omitempty"`
	StoppedAt  int         `json:"stopped_at,omitempty"`
	// Model is the checkpoint folder, usable as model.path of rewind train.
	Model string `json:"model"`
}

// StopCheck is one validation of stop.accuracy.
type StopCheck struct {
	Step     int     `json:"step"`
	Accuracy float64 `json:"greedy_pass1"`
}

// LogFile is the progress log TrainLogged writes in the output folder.
const LogFile = "sft.log"

// TrainLogged is Train with its progress written to cfg.Out/sft.log as well
// as to progress: rewind sft and the comparison workspace both keep that
// log beside the model and the report.
func TrainLogged(ctx context.Context, cfg Config, progress io.Writer) (Report, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return Report{}, err
	}
	logf, err := os.Create(filepath.Join(cfg.Out, LogFile))
	if err != nil {
		return Report{}, err
	}
	defer logf.Close()
	return Train(ctx, cfg, slog.New(slog.NewTextHandler(io.MultiWriter(progress, logf), nil)))
}

// Train trains a model from scratch on Examples, saves it under cfg.Out and
// evaluates it on held-out tasks. Progress goes to log. It is
// deterministic in cfg up to the engine's own reproducibility.
func Train(ctx context.Context, cfg Config, log *slog.Logger) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	tok, err := tokenizer.NewChar(Alphabet, Specials)
	if err != nil {
		return Report{}, err
	}
	mc, err := model.Preset(cfg.Model.Preset)
	if err != nil {
		return Report{}, err
	}
	mc = mc.WithVocab(tok.VocabSize())
	mc.MaxPositions = cfg.Model.MaxPositions
	mc.EOS = tok.EOS()
	pol, err := engine.Open(cfg.Model.Engine, engine.Options{
		Init:  &engine.Init{Config: mc, Tokenizer: tok, Weights: model.InitWeights(mc, cfg.Seed)},
		Optim: cfg.TrainOptim(),
		Extra: cfg.Model.Extra,
	})
	if err != nil {
		return Report{}, err
	}
	rep := Report{Family: cfg.Family, Difficulty: cfg.Difficulty, Params: mc.NumParams(), Steps: cfg.Steps + cfg.Self.Steps}

	exs, err := cfg.TrainingExamples()
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
	tr := &trainLoop{pol: pol, cfg: cfg, log: log, rep: &rep, start: start}
	stage1 := newShuffler(seqs, r)
	open := func(dir string) (engine.Policy, error) {
		return engine.Open(cfg.Model.Engine, engine.Options{Dir: dir, Extra: cfg.Model.Extra})
	}
	if err := stageOne(ctx, tr, stage1.next, seen, open); err != nil {
		return rep, err
	}
	pol = tr.pol
	if rep.StoppedAt > 0 {
		rep.Steps = rep.StoppedAt + cfg.Self.Steps
	}
	if cfg.Self.Steps > 0 {
		own, firsts, err := selfExamples(ctx, pol, cfg, tok, &rep)
		if err != nil {
			return rep, err
		}
		log.Info("sft: stage 2", "own_failures", len(own), "first_errors", rep.SelfFirstErrors, "steps", cfg.Self.Steps)
		if len(own) == 0 {
			return rep, fmt.Errorf("sft: stage 2: the model made no failure with a wrong step on %d tasks; lower self.steps to 0 or raise self.tasks", cfg.Self.Tasks)
		}
		ownNext := newShuffler(own, r).next
		if cfg.Self.Balance {
			ownNext = balanced(own, firsts, r)
		}
		mix := func() engine.Sequence {
			if r.Float64() < cfg.Self.Mix {
				return ownNext()
			}
			return stage1.next()
		}
		if err := tr.steps(ctx, cfg.Steps+1, cfg.Steps+cfg.Self.Steps, mix); err != nil {
			return rep, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.TokensPerS = float64(tr.tokens) / rep.Seconds

	rep.Model = filepath.Join(cfg.Out, "model")
	if err := pol.Save(rep.Model); err != nil {
		return rep, fmt.Errorf("sft: save: %w", err)
	}
	evalStart := time.Now()
	if err := evaluate(ctx, pol, cfg, seen, &rep); err != nil {
		return rep, err
	}
	rep.EvalSeconds = time.Since(evalStart).Seconds()
	log.Info("sft: done", "accuracy", rep.Accuracy, "pass_at_k", rep.PassAtK, "loc_precision", rep.LocPrecision, "loc_exact", rep.LocExact,
		"sampled_loc_precision", rep.SampledLocPrecision, "sampled_loc_exact", rep.SampledLocExact,
		"chain_loc_exact", rep.ChainLocExact, "model", rep.Model)
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return rep, err
	}
	return rep, os.WriteFile(filepath.Join(cfg.Out, "sft.json"), append(b, '\n'), 0o644)
}

// TrainingExamples returns the stage-1 examples that Train trains on:
// Examples at the config's family, seed, error rate and localization
// share, with difficulties mixed from MinDifficulty when it is set and
// localization prompts for its template's kind.
func (cfg Config) TrainingExamples() ([]Example, error) {
	lo := cfg.Difficulty
	if cfg.MinDifficulty > 0 {
		lo = cfg.MinDifficulty
	}
	return examples(cfg.Family, cfg.Examples, cfg.Seed, lo, cfg.Difficulty, cfg.ErrorRate, cfg.LocFraction, cfg.Template.Kind)
}

// stageOne runs the stage-1 steps; with cfg.Stop.Accuracy set it checks
// greedy pass@1 on validation tasks every cfg.Stop.Every steps and stops
// once it reaches the target. Competence can jump past the target between
// two checks, so the check before is kept on disk (under cfg.Out, removed
// at the end) and, when its pass@1 was closer to the target, its weights
// and optimiser state are reopened with open and replace tr.pol. The
// validation prompts join seen, so the held-out evaluation does not reuse
// them.
func stageOne(ctx context.Context, tr *trainLoop, next func() engine.Sequence, seen map[string]bool, open func(dir string) (engine.Policy, error)) error {
	cfg := tr.cfg
	if cfg.Stop.Accuracy == 0 {
		return tr.steps(ctx, 1, cfg.Steps, next)
	}
	val, err := tasks.GenerateExcluding(cfg.Family, cfg.Stop.Tasks, cfg.Seed+2_000_003, cfg.Difficulty, func(p string) bool { return seen[p] })
	if err != nil {
		return fmt.Errorf("sft: validation tasks: %w", err)
	}
	for _, t := range val {
		seen[t.Prompt] = true
	}
	prevDir := filepath.Join(cfg.Out, "stop-previous")
	defer os.RemoveAll(prevDir)
	var prev *StopCheck
	for from := 1; from <= cfg.Steps; from += cfg.Stop.Every {
		to := min(from+cfg.Stop.Every-1, cfg.Steps)
		if err := tr.steps(ctx, from, to, next); err != nil {
			return err
		}
		acc, err := greedyAccuracy(ctx, tr.pol, cfg, val)
		if err != nil {
			return err
		}
		check := StopCheck{Step: to, Accuracy: acc}
		tr.rep.StopChecks = append(tr.rep.StopChecks, check)
		tr.log.Info("sft: validation", "step", to, "greedy_pass1", fmt.Sprintf("%.3f", acc), "target", cfg.Stop.Accuracy)
		if acc < cfg.Stop.Accuracy {
			if err := tr.pol.Save(prevDir); err != nil {
				return fmt.Errorf("sft: keeping the check of step %d: %w", to, err)
			}
			prev = &check
			continue
		}
		tr.rep.StoppedAt = to
		if prev != nil && cfg.Stop.Accuracy-prev.Accuracy < acc-cfg.Stop.Accuracy {
			pol, err := open(prevDir)
			if err != nil {
				return fmt.Errorf("sft: reopening the check of step %d: %w", prev.Step, err)
			}
			tr.pol, tr.rep.StoppedAt = pol, prev.Step
			tr.log.Info("sft: validation overshot the target; keeping the check before", "step", prev.Step, "greedy_pass1", fmt.Sprintf("%.3f", prev.Accuracy))
		}
		return nil
	}
	return nil
}

// encodeExamples tokenizes examples as prompt + completion + EOS, with
// weight 1 on the completion and EOS positions, dropping those longer than
// the context. It returns the sequences and the task prompts seen.
func encodeExamples(tok tokenizer.Tokenizer, cfg Config, exs []Example, rep *Report) ([]engine.Sequence, map[string]bool) {
	tmpl := cfg.Template
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

// trainLoop runs optimiser steps and logs their mean loss.
type trainLoop struct {
	pol           engine.Policy
	cfg           Config
	log           *slog.Logger
	rep           *Report
	start         time.Time
	tokens, lossN int
	lossSum       float64
}

// steps runs steps from..to (1-based, inclusive) on batches drawn by next.
func (t *trainLoop) steps(ctx context.Context, from, to int, next func() engine.Sequence) error {
	for step := from; step <= to; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := make([]engine.Sequence, t.cfg.Batch)
		for i := range batch {
			batch[i] = next()
		}
		st, err := t.pol.Update(ctx, engine.Batch{Seqs: normalise(batch), Loss: engine.LossPG})
		if err != nil {
			return fmt.Errorf("sft: step %d: %w", step, err)
		}
		t.tokens += st.Tokens
		t.lossSum += st.Loss
		t.lossN++
		if step%t.cfg.LogEvery == 0 || step == to {
			el := time.Since(t.start).Seconds()
			t.rep.FinalLoss = t.lossSum / float64(t.lossN)
			t.log.Info("sft", "step", step, "loss", fmt.Sprintf("%.4f", t.rep.FinalLoss), "grad_norm", fmt.Sprintf("%.3f", st.GradNorm),
				"lr", fmt.Sprintf("%.2e", st.LR), "tokens_per_s", int(float64(t.tokens)/el))
			t.lossSum, t.lossN = 0, 0
		}
	}
	return nil
}

// shuffler draws sequences in epochs of random order.
type shuffler struct {
	seqs  []engine.Sequence
	r     *rand.Rand
	order []int
	pos   int
}

// balanced draws a class (a first error) uniformly among those present,
// then a sequence of that class.
func balanced(seqs []engine.Sequence, classes []int, r *rand.Rand) func() engine.Sequence {
	by := map[int][]engine.Sequence{}
	var keys []int
	for i, s := range seqs {
		if by[classes[i]] == nil {
			keys = append(keys, classes[i])
		}
		by[classes[i]] = append(by[classes[i]], s)
	}
	draw := make([]*shuffler, len(keys))
	for i, k := range keys {
		draw[i] = newShuffler(by[k], r)
	}
	return func() engine.Sequence { return draw[r.IntN(len(draw))].next() }
}

func newShuffler(seqs []engine.Sequence, r *rand.Rand) *shuffler {
	return &shuffler{seqs: seqs, r: r, order: r.Perm(len(seqs))}
}

func (s *shuffler) next() engine.Sequence {
	if s.pos == len(s.order) {
		s.order, s.pos = s.r.Perm(len(s.seqs)), 0
	}
	s.pos++
	return s.seqs[s.order[s.pos-1]]
}
