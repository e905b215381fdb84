package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/rollout"
)

// EvalOptions configure an evaluation. The config supplies the model
// (model.*), the verifier (reward.verifier, plugins), the prompt template
// (data.template), generation limits and sampling settings (sampling.*)
// and the seed (run.seed).
type EvalOptions struct {
	Config Config
	// Dataset overrides data.eval.
	Dataset string
	// Samples per task for pass@k at the sampling temperature; 0 skips
	// sampling (greedy pass@1 only).
	Samples int
	// Ks are the k of pass@k to report, each in 1..Samples.
	Ks []int
	// Limit evaluates the first Limit tasks only; 0 means all.
	Limit int
	// Now is the clock for WallSec; nil uses time.Now.
	Now func() time.Time
}

// Eval runs greedy pass@1 (temperature 0, one sample, no resets, as
// docs/method.md evaluates) and, with Samples > 0, sampled pass@k over a
// dataset. Samples whose verdict is unusable are counted apart, never as
// wrong.
func Eval(ctx context.Context, opts EvalOptions) (EvalResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	cfg := opts.Config
	path := opts.Dataset
	if path == "" {
		path = cfg.Data.Eval
	}
	if path == "" {
		return EvalResult{}, errors.New("eval: no dataset: set data.eval or pass one")
	}
	for _, k := range opts.Ks {
		if k < 1 || k > opts.Samples {
			return EvalResult{}, fmt.Errorf("eval: pass@%d needs 1 <= k <= samples (%d)", k, opts.Samples)
		}
	}
	ds, err := data.ReadFile(path)
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval: %w", err)
	}
	exs := ds.Examples
	if opts.Limit > 0 && opts.Limit < len(exs) {
		exs = exs[:opts.Limit]
	}
	if cfg.Model.Path == "" {
		return EvalResult{}, errors.New("eval: no model: set model.path to a policy, checkpoint or run directory")
	}
	policyDir, err := ResolvePolicy(cfg.Model.Path)
	if err != nil {
		return EvalResult{}, err
	}
	// Evaluation never updates: open weights-only, so that no optimiser
	// moments are loaded (and any engine's checkpoint will do).
	pcfg := cfg
	pcfg.Model.Path = policyDir
	pol, err := openPolicy(pcfg, "", "")
	if err != nil {
		return EvalResult{}, err
	}
	if c, ok := pol.(interface{ Close() error }); ok {
		defer c.Close()
	}
	// Only the verifier is needed: evaluation has no resets.
	ecfg := cfg
	ecfg.Algo.Name = algo.GRPO
	ecfg.Reward.Models = nil
	ps, err := loadPlugins(ctx, ecfg)
	if err != nil {
		return EvalResult{}, err
	}
	defer ps.close()

	res := EvalResult{
		Model: policyDir, Dataset: path, Verifier: cfg.Reward.Verifier,
		Samples: opts.Samples, Temperature: cfg.Sampling.Temperature, TopP: cfg.Sampling.TopP,
		Statuses: map[abi.Status]int{}, PerTask: make([]TaskEval, len(exs)),
	}
	greedy, err := evalRunner(cfg, pol, ps, 1, 0)
	if err != nil {
		return EvalResult{}, err
	}
	var sampled *rollout.Runner
	if opts.Samples > 0 {
		if sampled, err = evalRunner(cfg, pol, ps, opts.Samples, cfg.Sampling.Temperature); err != nil {
			return EvalResult{}, err
		}
	}
	tok := pol.Tokenizer()
	bs := cfg.Data.BatchPrompts
	for b := 0; b*bs < len(exs); b++ {
		batch := exs[b*bs : min((b+1)*bs, len(exs))]
		tasks := make([]rollout.Task, len(batch))
		for i, e := range batch {
			tasks[i] = rollout.Task{Task: e.Task(), PromptIDs: tok.Encode(cfg.Data.Template.Render(e.Prompt))}
			res.PerTask[b*bs+i].ID = e.ID
		}
		g, err := greedy.Run(ctx, cfg.Run.Seed, b, tasks)
		if err != nil {
			return EvalResult{}, fmt.Errorf("eval: greedy: %w", err)
		}
		for i, p := range g.Prompts {
			te := &res.PerTask[b*bs+i]
			t := firstFresh(p)
			te.GreedyStatus, te.GreedyCorrect = t.Status, t.Usable() && t.Correct
			res.Statuses[t.Status]++
			if t.Usable() && res.VerifierSHA256 == "" {
				res.VerifierSHA256 = t.Verdict.SHA256
			}
		}
		if sampled == nil {
			continue
		}
		s, err := sampled.Run(ctx, cfg.Run.Seed, b, tasks)
		if err != nil {
			return EvalResult{}, fmt.Errorf("eval: sampled: %w", err)
		}
		for i, p := range s.Prompts {
			te := &res.PerTask[b*bs+i]
			for j := range p.Trajs {
				t := &p.Trajs[j]
				if t.Origin != algo.OriginFresh || t.Role == algo.RoleSurplus {
					continue
				}
				res.Statuses[t.Status]++
				if !t.Usable() {
					te.Unusable++
					continue
				}
				te.Samples++
				if t.Correct {
					te.Correct++
				}
			}
		}
	}
	if err := res.summarize(opts.Ks); err != nil {
		return EvalResult{}, err
	}
	res.WallSec = opts.Now().Sub(start).Seconds()
	return res, nil
}

// evalRunner is a rollout of n fresh samples per task at temperature,
// with no resets.
func evalRunner(cfg Config, pol engine.Policy, ps *pluginSet, n int, temperature float64) (*rollout.Runner, error) {
	c := cfg
	c.Algo.Name, c.Algo.GroupSize = algo.GRPO, n
	proc, ac, err := algoSettings(c)
	if err != nil {
		return nil, err
	}
	rc, err := rolloutConfig(c, proc, ac)
	if err != nil {
		return nil, err
	}
	rc.Temperature = float32(temperature)
	return rollout.New(rc, rollout.Options{Policy: pol, Verifier: ps.verifier, Segmenter: ps.segmenter})
}

func firstFresh(p *rollout.PromptResult) *algo.Trajectory {
	for i := range p.Trajs {
		if p.Trajs[i].Origin == algo.OriginFresh && p.Trajs[i].Index == 0 {
			return &p.Trajs[i]
		}
	}
	return &algo.Trajectory{Status: abi.StatusError}
}

// ResolvePolicy resolves a model directory: a run directory means its
// newest intact checkpoint's policy, a checkpoint directory its policy/, and any
// other directory is taken as a policy.
func ResolvePolicy(path string) (string, error) {
	if exists(filepath.Join(path, ConfigFile)) && exists(filepath.Join(path, checkpointsDir)) {
		// Read-only: the run may be live. Damaged checkpoints are
		// passed over, as a resume would.
		ckpt, _, _, err := newestIntact(path)
		if err != nil {
			return "", err
		}
		if ckpt == "" {
			return "", fmt.Errorf("eval: run %s has no checkpoint yet", path)
		}
		return filepath.Join(ckpt, policySubdir), nil
	}
	if exists(filepath.Join(path, stateFile)) && exists(filepath.Join(path, policySubdir)) {
		return filepath.Join(path, policySubdir), nil
	}
	return path, nil
}
