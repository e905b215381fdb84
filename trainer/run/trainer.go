package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"

	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/rollout"
)

// Train runs (or resumes) a training run to its end and returns its
// summary, also written to summary.json in the run directory.
func Train(ctx context.Context, opts Options) (Summary, error) {
	return train(ctx, opts, newTrainer)
}

// trainer is the stepper of a real run: data, policy, plugins, rollout
// and update.
type trainer struct {
	cfg Config
	pol engine.Policy
	// compiler is pol when its engine compiles programs (xla), else nil.
	compiler engine.CompileReporter
	data     *taskStream
	plugins  *pluginSet
	runner   *rollout.Runner
	proc     algo.Procedure
	ac       algo.Config
	total    int
	now      func() time.Time
	// kl is the KL penalty to the starting policy (algo.kl_coef).
	kl klPenalty
	// held is the held-out subset of run.eval_every (nil when off).
	held *heldOut
	// aux is the auxiliary localization loss (nil when off).
	aux *auxLoc
	// gaveUp holds the first call to a plugin the host gave up on.
	gaveUp gaveUpWatch
}

// heldOut is the fixed held-out subset evaluated during a run.
type heldOut struct {
	tasks  []rollout.Task
	runner *rollout.Runner
}

func newTrainer(ctx context.Context, cfg Config, runDir, policyDir string) (st stepper, err error) {
	t := &trainer{cfg: cfg, now: time.Now}
	defer func() {
		if err != nil {
			_ = t.close()
		}
	}()
	if t.proc, t.ac, err = algoSettings(cfg); err != nil {
		return nil, err
	}
	if t.data, err = openTaskStream(cfg); err != nil {
		return nil, err
	}
	t.total = cfg.Run.Steps
	if t.total == 0 {
		perEpoch := (t.data.len() + cfg.Data.BatchPrompts - 1) / cfg.Data.BatchPrompts
		t.total = cfg.Data.Epochs * perEpoch
	}
	if cfg.Optim.TotalSteps == 0 {
		cfg.Optim.TotalSteps = t.total
	}
	if t.pol, err = openPolicy(cfg, runDir, policyDir); err != nil {
		return nil, err
	}
	if err := checkPrompts("data.train", t.data.ds, t.data.ds.Examples, cfg.Data.Template, t.pol); err != nil {
		return nil, err
	}
	t.compiler, _ = t.pol.(engine.CompileReporter)
	if cfg.Algo.KLCoef > 0 {
		// The reference is the run's starting policy, frozen: model.path
		// (or the from-scratch init), never a resumed checkpoint.
		t.kl.coef = cfg.Algo.KLCoef
		if t.kl.ref, err = openPolicy(cfg, runDir, ""); err != nil {
			return nil, fmt.Errorf("algo.kl_coef: reference policy: %w", err)
		}
	}
	if t.plugins, err = loadPlugins(ctx, cfg); err != nil {
		return nil, err
	}
	// Unusable verdicts follow the verifier's on_failure action.
	t.ac.OnUnusable = t.plugins.onFailure
	rc, err := rolloutConfig(cfg, t.proc, t.ac)
	if err != nil {
		return nil, err
	}
	// A plugin the host gives up on stops the run (gaveUpWatch).
	models := make([]rollout.RewardModel, len(t.plugins.rewardModels))
	for i, rm := range t.plugins.rewardModels {
		rm.Model = watchedRewardModel{rm.Model, &t.gaveUp}
		models[i] = rm
	}
	opts := rollout.Options{
		Policy:       t.pol,
		Verifier:     watchedVerifier{t.plugins.verifier, &t.gaveUp},
		RewardModels: models,
		Segmenter:    t.plugins.segmenter,
	}
	if t.proc.Parents > 0 {
		if opts.Localizer, err = t.localizer(); err != nil {
			return nil, err
		}
	}
	if t.runner, err = rollout.New(rc, opts); err != nil {
		return nil, err
	}
	if cfg.Run.EvalEvery > 0 {
		if t.held, err = t.openHeldOut(); err != nil {
			return nil, err
		}
	}
	if cfg.Algo.AuxLocCoef > 0 {
		if t.aux, err = openAuxLoc(cfg, t.pol.Tokenizer()); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// openHeldOut reads the first run.eval_tasks tasks of data.eval and
// builds their greedy runner (temperature 0, one sample, no resets, as
// rewind eval).
func (t *trainer) openHeldOut() (*heldOut, error) {
	ds, err := data.ReadFile(t.cfg.Data.Eval)
	if err != nil {
		return nil, fmt.Errorf("run.eval_every: data.eval: %w", err)
	}
	exs := ds.Examples
	if n := t.cfg.Run.EvalTasks; n > 0 && n < len(exs) {
		exs = exs[:n]
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("run.eval_every: data.eval %s holds no examples", t.cfg.Data.Eval)
	}
	if err := checkPrompts("run.eval_every: data.eval", ds, exs, t.cfg.Data.Template, t.pol); err != nil {
		return nil, err
	}
	r, err := evalRunner(t.cfg, t.pol, t.plugins, 1, 0)
	if err != nil {
		return nil, err
	}
	h := &heldOut{runner: r, tasks: make([]rollout.Task, len(exs))}
	tok := t.pol.Tokenizer()
	for i, e := range exs {
		h.tasks[i] = rollout.Task{Task: e.Task(), PromptIDs: tok.Encode(t.cfg.Data.Template.Render(e.Prompt))}
	}
	return h, nil
}

// EvalPoint is a held-out evaluation during a run (the "eval" object of
// a metrics.jsonl line): greedy pass@1 of the policy after Step steps on
// the first Tasks tasks of data.eval. Unusable verdicts count in Tasks
// but are neither right nor wrong: PassAt1 is Correct over the usable.
type EvalPoint struct {
	Tasks    int     `json:"tasks"`
	Correct  int     `json:"correct"`
	Unusable int     `json:"unusable"`
	PassAt1  float64 `json:"pass_at_1"`
}

// evalBatch is how many held-out tasks one greedy rollout call holds.
const evalBatch = 64

func (t *trainer) evaluate(ctx context.Context, done int) (any, error) {
	if t.held == nil {
		return nil, nil
	}
	var p EvalPoint
	for b := 0; b*evalBatch < len(t.held.tasks); b++ {
		batch := t.held.tasks[b*evalBatch : min((b+1)*evalBatch, len(t.held.tasks))]
		res, err := t.held.runner.Run(ctx, t.cfg.Run.Seed, b, batch)
		if err != nil {
			return nil, err
		}
		for _, pr := range res.Prompts {
			tr := firstFresh(pr)
			p.Tasks++
			switch {
			case !tr.Usable():
				p.Unusable++
			case tr.Correct:
				p.Correct++
			}
		}
	}
	if n := p.Tasks - p.Unusable; n > 0 {
		p.PassAt1 = float64(p.Correct) / float64(n)
	}
	return p, nil
}

// localizer opens localizer.name through package localize, which knows
// the builtins (self) from the host plugins loaded with the run's others.
func (t *trainer) localizer() (localize.Localizer, error) {
	l := t.cfg.Localizer
	return localize.Open(localize.Settings{
		Name:        l.Name,
		Template:    l.Template,
		Chat:        t.cfg.Data.Template.Kind == data.TemplateChat,
		Delimiter:   t.cfg.Sampling.Delimiter,
		Temperature: float32(l.Temperature),
		MaxTokens:   l.MaxTokens,
	}, localize.Env{Policy: t.pol, Plugin: t.plugins.localizer, Concurrency: t.cfg.Run.Concurrency})
}

// rolloutConfig maps the sampling section onto package rollout.
func rolloutConfig(c Config, proc algo.Procedure, ac algo.Config) (rollout.Config, error) {
	m, err := algo.MethodNamed(c.Algo.Name)
	if err != nil {
		return rollout.Config{}, err
	}
	rc, err := rollout.DefaultConfig(m.VariantFor(c.Algo.Layout))
	if err != nil {
		return rollout.Config{}, err
	}
	s := c.Sampling
	rc.Procedure, rc.Algo = proc, ac
	rc.Temperature, rc.TopP, rc.TopK = float32(s.Temperature), float32(s.TopP), s.TopK
	rc.Mode = rollout.Mode(s.Mode)
	rc.MaxSteps, rc.StepTokens, rc.MaxTokens = s.MaxSteps, s.MaxStepTokens, s.MaxTokens
	rc.Delimiter, rc.AnswerMarker = s.Delimiter, s.AnswerMarker
	rc.VerifyConcurrency = c.Run.Concurrency
	return rc, rc.Validate()
}

func (t *trainer) totalSteps() int { return t.total }

// stepMetrics is the deterministic part of a metrics.jsonl line.
type stepMetrics struct {
	Epoch   int             `json:"epoch"`
	Rollout json.RawMessage `json:"rollout"`
	// Rewards is the mean of each reward component ("verifier" and the
	// reward models) over the usable trajectories that are not surplus.
	Rewards map[string]float64        `json:"reward_components"`
	Update  *engine.UpdateStats       `json:"update"` // null when nothing was trained
	Batch   int                       `json:"sequences"`
	Plugins map[string]map[string]int `json:"plugins"` // calls by plugin and status, this step
	// UsableVerdicts and UnusableVerdicts count the step's graded
	// trajectories (surplus excluded) by whether their verdict may be
	// trained on; a step with none usable also gets a "warning".
	UsableVerdicts   int `json:"usable_verdicts"`
	UnusableVerdicts int `json:"unusable_verdicts"`
	// KL is the KL penalty's statistics (algo.kl_coef > 0 only).
	KL *algo.KLStats `json:"kl,omitempty"`
	// AuxLoc is the auxiliary localization loss's (algo.aux_loc_coef > 0
	// only).
	AuxLoc *AuxStats `json:"aux_loc,omitempty"`
}

func (t *trainer) step(ctx context.Context, step int, seed uint64) (stepResult, error) {
	tasks, epoch := t.data.next(t.cfg.Data.BatchPrompts)
	rtasks := make([]rollout.Task, len(tasks))
	tok := t.pol.Tokenizer()
	for i, task := range tasks {
		rtasks[i] = rollout.Task{Task: task, PromptIDs: tok.Encode(t.data.render(task))}
	}
	before := t.plugins.counters()
	compiled := 0
	if t.compiler != nil {
		compiled = len(t.compiler.Compiles())
	}
	res, err := t.runner.Run(ctx, seed, step, rtasks)
	if err != nil {
		return stepResult{}, err
	}
	if err := t.gaveUp.err(); err != nil {
		// Every later call fails too: stop rather than count failures.
		return stepResult{}, fmt.Errorf("%w; the run stops: nothing more could be graded (rewind plugin test shows why the plugin fails)", err)
	}
	m := rollout.ComputeMetrics(res)
	prompts := res.AlgoPrompts()
	t0 := t.now()
	l, err := learn(ctx, t.pol, t.ac, prompts, t.kl, t.aux, step)
	if err != nil {
		return stepResult{}, err
	}
	updateSec := t.now().Sub(t0).Seconds()

	wall := map[string]float64{
		"fresh_sec":    m.Time.Fresh.Seconds(),
		"localize_sec": m.Time.Localize.Seconds(),
		"reset_sec":    m.Time.Reset.Seconds(),
		"verify_sec":   m.Time.Verify.Seconds(),
		"rollout_sec":  m.Time.Total.Seconds(),
		"update_sec":   updateSec,
	}
	if t.compiler != nil {
		// Compilation happens inside the rollout and update times above;
		// it is wall-clock, so it goes with them and not in the
		// deterministic metrics.
		var sec float64
		fresh := t.compiler.Compiles()[compiled:]
		for _, c := range fresh {
			sec += c.Duration.Seconds()
		}
		wall["compiles"], wall["compile_sec"] = float64(len(fresh)), sec
	}
	m.Time = rollout.Times{}
	rm, err := withoutKey(m, "time")
	if err != nil {
		return stepResult{}, err
	}
	sm := stepMetrics{Epoch: epoch, Rollout: rm, Rewards: componentMeans(prompts), Batch: l.sequences, Plugins: counterDelta(before, t.plugins.counters())}
	if l.updated {
		sm.Update = &l.update
	}
	sm.KL, sm.AuxLoc = l.kl, l.aux
	lines := rolloutLines(step+1, prompts)
	attachResets(lines, res)
	tally := tallyVerdicts(prompts)
	sm.UsableVerdicts, sm.UnusableVerdicts = tally.usable, tally.unusableCount()
	summary := fmt.Sprintf("reward %.3f", m.Fresh.Reward)
	if tally.usable == 0 {
		summary = "no usable verdicts"
	}
	if l.updated {
		summary += fmt.Sprintf(" loss %.4f", l.update.Loss)
	}
	tk := m.Tokens
	return stepResult{metrics: sm, wall: wall, rollouts: lines, summary: summary,
		tokens: tk.Fresh + tk.Parent + tk.Localize + tk.Reset, verdicts: tally}, nil
}

// tallyVerdicts counts the graded trajectories of a step (surplus ones,
// which the sequential procedure would not have sampled, excluded) by
// whether their verdict is usable, the unusable by plugin and status.
func tallyVerdicts(prompts []*algo.Prompt) verdictTally {
	var v verdictTally
	for _, p := range prompts {
		for i := range p.Trajs {
			t := &p.Trajs[i]
			switch {
			case t.Role == algo.RoleSurplus:
			case t.Usable():
				v.usable++
			default:
				v.addUnusable(t.Verdict.Plugin, string(t.Status), t.Verdict.Detail)
			}
		}
	}
	return v
}

// gaveUpWatch records the first call that failed because the host gave up
// on its plugin (host.ErrFailedForGood): the rollout turns failed calls
// into unusable verdicts, and this one must stop the run instead.
type gaveUpWatch struct {
	mu    sync.Mutex
	first error
}

func (w *gaveUpWatch) note(err error) {
	if err != nil && errors.Is(err, host.ErrFailedForGood) {
		w.mu.Lock()
		if w.first == nil {
			w.first = err
		}
		w.mu.Unlock()
	}
}

func (w *gaveUpWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

// watchedVerifier and watchedRewardModel report their calls' errors to a
// gaveUpWatch.
type watchedVerifier struct {
	host.Verifier
	w *gaveUpWatch
}

func (v watchedVerifier) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	out, err := v.Verifier.Verify(ctx, req)
	v.w.note(err)
	return out, err
}

type watchedRewardModel struct {
	host.RewardModel
	w *gaveUpWatch
}

func (m watchedRewardModel) Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out, err := m.RewardModel.Score(ctx, reqs)
	m.w.note(err)
	return out, err
}

// withoutKey marshals v and drops one top-level key.
func withoutKey(v any, key string) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, key)
	return json.Marshal(m)
}

// attachResets puts each parent's localization on its rollouts line.
func attachResets(lines []any, res *rollout.Result) {
	for i, l := range lines {
		rl := l.(RolloutLine)
		if rl.Role != algo.RoleParent {
			continue
		}
		for _, r := range res.Prompts[rl.Prompt].Resets {
			if r.Parent == rl.Traj {
				r := r
				rl.Reset = &r
				lines[i] = rl
			}
		}
	}
}

func (t *trainer) save(dir string) error { return t.pol.Save(dir) }

func (t *trainer) dataState() (json.RawMessage, error) { return t.data.state() }

func (t *trainer) restoreData(raw json.RawMessage) error { return t.data.restore(raw) }

func (t *trainer) close() error {
	var errs []error
	if t.plugins != nil {
		errs = append(errs, t.plugins.close())
	}
	for _, p := range []engine.Policy{t.pol, t.kl.ref} {
		if c, ok := p.(interface{ Close() error }); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// counterDelta is after - before per plugin and status, zeros left out.
func counterDelta(before, after map[string]map[string]int) map[string]map[string]int {
	out := map[string]map[string]int{}
	for p, statuses := range after {
		for s, n := range statuses {
			if d := n - before[p][s]; d != 0 {
				if out[p] == nil {
					out[p] = map[string]int{}
				}
				out[p][s] = d
			}
		}
	}
	return out
}

// componentMeans averages each reward component over the usable
// trajectories that the sequential procedure would have sampled.
func componentMeans(prompts []*algo.Prompt) map[string]float64 {
	sum, n := map[string]float64{}, map[string]int{}
	for _, p := range prompts {
		for i := range p.Trajs {
			t := &p.Trajs[i]
			if !t.Usable() || t.Role == algo.RoleSurplus {
				continue
			}
			for k, v := range t.Rewards {
				sum[k] += v
				n[k]++
			}
		}
	}
	out := make(map[string]float64, len(sum))
	for k, v := range sum {
		out[k] = v / float64(n[k])
	}
	return out
}

var _ stepper = (*trainer)(nil)
