package run

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stepper does the work of the steps of a run: the trainer proper (see
// trainer.go), or a fake in the loop's tests.
type stepper interface {
	// totalSteps is the length of the run.
	totalSteps() int
	// step samples, grades and trains on the batch of step (0-based),
	// drawing all randomness from seed.
	step(ctx context.Context, step int, seed uint64) (stepResult, error)
	// save writes the policy into dir (which must not exist).
	save(dir string) error
	// dataState is the training sampler's cursor; restoreData sets it.
	dataState() (json.RawMessage, error)
	restoreData(json.RawMessage) error
	// evaluate measures the policy after done steps on the held-out
	// subset (run.eval_every); the result goes under "eval" in that
	// step's metrics line.
	evaluate(ctx context.Context, done int) (any, error)
	// close releases plugins and engines.
	close() error
}

// stepResult is what one step reports.
type stepResult struct {
	// metrics is a JSON object of the step's deterministic metrics: the
	// same seed gives the same bytes.
	metrics any
	// wall holds wall-clock seconds by phase; it goes under "time" in
	// metrics.jsonl and is the only part of a line that may differ
	// between two runs with the same seed.
	wall map[string]float64
	// rollouts are the rollouts.jsonl lines of the step.
	rollouts []any
	// summary is a short human line for progress output.
	summary string
	// tokens is the number of tokens generated in the step, all phases
	// counted (fresh, parent, localization, reset): what
	// run.max_generated_tokens budgets.
	tokens int
	// verdicts tallies the step's verdicts, for run.max_unusable.
	verdicts verdictTally
}

// verdictTally counts a step's verdicts: usable ones, and the unusable by
// plugin and status with one example of each.
type verdictTally struct {
	usable   int
	unusable map[failureKey]int
	example  map[failureKey]string // a Detail of each failure
}

// failureKey is one kind of unusable verdict: the plugin that gave it and
// its status.
type failureKey struct {
	plugin string
	status string
}

func (v *verdictTally) addUnusable(plugin, status, detail string) {
	if v.unusable == nil {
		v.unusable, v.example = map[failureKey]int{}, map[failureKey]string{}
	}
	k := failureKey{plugin, status}
	v.unusable[k]++
	if _, ok := v.example[k]; !ok && detail != "" {
		v.example[k] = detail
	}
}

func (v *verdictTally) unusableCount() int {
	n := 0
	for _, c := range v.unusable {
		n += c
	}
	return n
}

// add merges o into v.
func (v *verdictTally) add(o verdictTally) {
	v.usable += o.usable
	for k, n := range o.unusable {
		if v.unusable == nil {
			v.unusable, v.example = map[failureKey]int{}, map[failureKey]string{}
		}
		v.unusable[k] += n
		if _, ok := v.example[k]; !ok && o.example[k] != "" {
			v.example[k] = o.example[k]
		}
	}
}

// worst returns the most frequent failure (ties broken by plugin, then
// status, so the message is deterministic) and its count.
func (v *verdictTally) worst() (failureKey, int) {
	var best failureKey
	n := 0
	for k, c := range v.unusable {
		if c > n || (c == n && (k.plugin < best.plugin || (k.plugin == best.plugin && k.status < best.status))) {
			best, n = k, c
		}
	}
	return best, n
}

// describe says what the failures were: "malformed 8 (plugin "boxed")".
func (v *verdictTally) describe() string {
	keys := make([]failureKey, 0, len(v.unusable))
	for k := range v.unusable {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b failureKey) int {
		if c := cmp.Compare(v.unusable[b], v.unusable[a]); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.plugin, b.plugin), cmp.Compare(a.status, b.status))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k.status, v.unusable[k])
		if k.plugin != "" {
			parts[i] += fmt.Sprintf(" (plugin %q)", k.plugin)
		}
	}
	return strings.Join(parts, ", ")
}

// noUsable is the warning of a step whose verdicts are all unusable: it
// trained on nothing. Empty when the step had a usable verdict (or none).
func (v *verdictTally) noUsable() string {
	n := v.unusableCount()
	if v.usable > 0 || n == 0 {
		return ""
	}
	return fmt.Sprintf("no usable verdicts: all %d unusable (%s); nothing was trained on", n, v.describe())
}

// unusableWindow holds the tallies of the last run.unusable_window steps.
type unusableWindow struct {
	size  int
	steps []verdictTally
}

func (w *unusableWindow) push(v verdictTally) {
	w.steps = append(w.steps, v)
	if len(w.steps) > w.size {
		w.steps = w.steps[1:]
	}
}

// check returns the error that stops the run when more than max of the
// window's verdicts are unusable, once the window holds need steps.
func (w *unusableWindow) check(max float64, need int) error {
	if len(w.steps) < need || max >= 1 {
		return nil
	}
	var sum verdictTally
	for _, s := range w.steps {
		sum.add(s)
	}
	bad := sum.unusableCount()
	total := bad + sum.usable
	if total == 0 || float64(bad) <= max*float64(total) {
		return nil
	}
	k, n := sum.worst()
	who := "the plugins"
	if k.plugin != "" {
		who = fmt.Sprintf("plugin %q", k.plugin)
	}
	msg := fmt.Sprintf("%s: %d of the %d verdicts of the last %d steps were unusable (%.0f%%, above run.max_unusable %v); most frequent failure: %s (%d)",
		who, bad, total, len(w.steps), 100*float64(bad)/float64(total), max, k.status, n)
	if ex := sum.example[k]; ex != "" {
		if len(ex) > 300 {
			ex = ex[:300] + "..."
		}
		msg += fmt.Sprintf(", e.g. %q", ex)
	}
	return fmt.Errorf("%s; the run stops rather than train on nothing: fix the plugin (rewind plugin test), or raise run.max_unusable: %w", msg, ErrTooManyUnusable)
}

// ErrTooManyUnusable is wrapped by the error of a run stopped by
// run.max_unusable.
var ErrTooManyUnusable = errors.New("too many unusable verdicts")

// Options starts or resumes a run.
type Options struct {
	// Config of a new run; ignored when Resume is set.
	Config Config
	// Keep names files that the caller put into Config.Run.Dir before a
	// new run starts (an experiment's stamp, a log it writes): the run
	// accepts a directory holding them and leaves them alone. Any other
	// file in a directory without a run is refused.
	Keep []string
	// Resume is the directory of a run to continue from its latest
	// complete checkpoint.
	Resume string
	// Log receives plain progress lines and events; nil discards them.
	Log *slog.Logger
	// Progress is where the progress bar or plain lines go (stderr).
	Progress io.Writer
	// Terminal says Progress is a terminal (run.log auto shows a bar).
	Terminal bool
	// Now is the clock for wall-clock metrics; nil uses time.Now.
	Now func() time.Time
}

// Summary is written to summary.json at the end of a run.
type Summary struct {
	Dir    string `json:"dir"`
	Preset string `json:"preset"`
	// Steps is the number of steps the run took: run.steps, or fewer
	// when run.max_generated_tokens ended it (StoppedBy says which).
	Steps           int             `json:"steps"`
	StoppedBy       string          `json:"stopped_by"`
	GeneratedTokens int             `json:"generated_tokens"`
	ResumedFrom     int             `json:"resumed_from_step,omitempty"`
	Checkpoint      string          `json:"final_checkpoint"`
	Last            json.RawMessage `json:"last_metrics,omitempty"`
	WallSec         float64         `json:"wall_sec"`
}

// newStepper builds the stepper of a config in runDir; policyDir is a
// checkpoint's policy directory to start from, or "" to start from the
// config's model.
type newStepper func(ctx context.Context, cfg Config, runDir, policyDir string) (stepper, error)

func train(ctx context.Context, opts Options, build newStepper) (Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	start := opts.Now()
	var (
		dir  *runDir
		cfg  Config
		st   State
		ckpt string
		err  error
	)
	if opts.Resume != "" {
		if dir, cfg, ckpt, st, err = openRunDir(opts.Resume, opts.Log); err != nil {
			return Summary{}, err
		}
		opts.Log.Info("resuming", "dir", opts.Resume, "step", st.Step, "checkpoint", ckpt)
	} else {
		cfg = opts.Config
		if err := cfg.Validate(); err != nil {
			return Summary{}, err
		}
		if dir, err = createRunDir(cfg.Run.Dir, cfg, opts.Keep); err != nil {
			return Summary{}, err
		}
		if dir.replaced {
			opts.Log.Warn("replaced a run that never completed a checkpoint (nothing of it could be resumed)", "dir", dir.path)
		}
	}
	// A new run that fails before its first step (bad data, model or
	// plugin) leaves nothing behind, so the corrected command can start it
	// again; a resumed run keeps its directory whatever happens.
	started := false
	defer func() {
		if !started && opts.Resume == "" {
			if derr := dir.discardNew(); derr != nil {
				opts.Log.Warn("removing the run that failed to start", "dir", dir.path, "err", derr)
			}
			return
		}
		dir.close()
	}()

	policyDir := ""
	if ckpt != "" {
		policyDir = filepath.Join(ckpt, policySubdir)
	}
	s, err := build(ctx, cfg, dir.path, policyDir)
	if err != nil {
		return Summary{}, err
	}
	defer s.close()

	rng := rand.NewPCG(cfg.Run.Seed, 0x5245_5749_4e44) // "REWIND"
	if ckpt != "" {
		if err := rng.UnmarshalBinary(st.RNG); err != nil {
			return Summary{}, fmt.Errorf("checkpoint %s: rng: %w", ckpt, err)
		}
		if err := s.restoreData(st.Data); err != nil {
			return Summary{}, fmt.Errorf("checkpoint %s: data cursor: %w", ckpt, err)
		}
	}

	total := s.totalSteps()
	started = true
	prog := newProgress(cfg.Run.Log, opts.Progress, opts.Terminal, opts.Log, total, st.Step)
	l := &loop{cfg: cfg, dir: dir, st: s, rng: rng, now: opts.Now, log: quietWhileBar(prog, opts.Log), tokens: st.GeneratedTokens,
		unusable: unusableWindow{size: max(cfg.Run.UnusableWindow, 1)}}
	last, final, done, err := l.run(ctx, st.Step, total, prog)
	prog.finish()
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{
		Dir: dir.path, Preset: cfg.Preset, Steps: done, StoppedBy: "steps", GeneratedTokens: l.tokens,
		ResumedFrom: st.Step, Checkpoint: final, Last: last, WallSec: opts.Now().Sub(start).Seconds(),
	}
	if l.budgetSpent() {
		sum.StoppedBy = "max_generated_tokens"
	}
	return sum, dir.writeSummary(sum)
}

type loop struct {
	cfg Config
	dir *runDir
	st  stepper
	rng *rand.PCG
	now func() time.Time
	log *slog.Logger
	// tokens counts the tokens generated so far (run.max_generated_tokens).
	tokens int
	// unusable holds the last steps' verdicts (run.max_unusable).
	unusable unusableWindow
}

// budgetSpent says run.max_generated_tokens is set and reached.
func (l *loop) budgetSpent() bool {
	b := l.cfg.Run.MaxGeneratedTokens
	return b > 0 && l.tokens >= b
}

// run executes steps from..total-1, or fewer when the budget of generated
// tokens runs out first (the step that reaches it is the last), and
// checkpoints after every run.checkpoint_every steps and after the last.
// It returns the last metrics line (without its time), the final
// checkpoint and the number of steps done.
func (l *loop) run(ctx context.Context, from, total int, prog progress) (last json.RawMessage, final string, done int, err error) {
	every := l.cfg.Run.CheckpointEvery
	evalEvery := l.cfg.Run.EvalEvery
	done = from
	for step := from; step < total && !l.budgetSpent(); step++ {
		if err := ctx.Err(); err != nil {
			return nil, "", 0, err
		}
		t0 := l.now()
		seed := rand.New(l.rng).Uint64()
		res, err := l.st.step(ctx, step, seed)
		if err != nil {
			return nil, "", 0, fmt.Errorf("step %d: %w", step+1, err)
		}
		if res.wall == nil {
			res.wall = map[string]float64{}
		}
		res.wall["step_sec"] = l.now().Sub(t0).Seconds()
		l.tokens += res.tokens
		done = step + 1
		lastStep := done == total || l.budgetSpent()
		metrics := res.metrics
		if w := res.verdicts.noUsable(); w != "" {
			// The step trained on nothing: say so where a user looks,
			// never just "reward 0".
			l.log.Warn("step "+strconv.Itoa(done)+": "+w, "step", done)
			if metrics, err = withField(metrics, "warning", w); err != nil {
				return nil, "", 0, fmt.Errorf("step %d: metrics: %w", done, err)
			}
		}
		if evalEvery > 0 && (done%evalEvery == 0 || lastStep) {
			t1 := l.now()
			ev, err := l.st.evaluate(ctx, done)
			if err != nil {
				return nil, "", 0, fmt.Errorf("step %d: eval: %w", done, err)
			}
			res.wall["eval_sec"] = l.now().Sub(t1).Seconds()
			if metrics, err = withField(metrics, "eval", ev); err != nil {
				return nil, "", 0, fmt.Errorf("step %d: metrics: %w", done, err)
			}
		}
		body, line, err := metricsLine(done, metrics, res.wall)
		if err != nil {
			return nil, "", 0, fmt.Errorf("step %d: metrics: %w", done, err)
		}
		if err := l.dir.metrics.writeRaw(line); err != nil {
			return nil, "", 0, err
		}
		if l.cfg.Run.LogRollouts {
			for _, r := range res.rollouts {
				if err := l.dir.rollouts.write(r); err != nil {
					return nil, "", 0, err
				}
			}
		}
		last = body
		// Checked before the step's checkpoint: a resume redoes the step
		// that stopped the run (and stops again while the plugin fails)
		// rather than find a finished run.
		l.unusable.push(res.verdicts)
		if err := l.unusable.check(l.cfg.Run.MaxUnusable, min(l.unusable.size, total-from)); err != nil {
			prog.step(done, res.summary)
			return nil, "", 0, fmt.Errorf("step %d: %w", done, err)
		}
		if (every > 0 && done%every == 0) || lastStep {
			if final, err = l.checkpoint(done); err != nil {
				return nil, "", 0, err
			}
		}
		prog.step(done, res.summary)
	}
	if last == nil {
		// Nothing left to do (a finished run resumed): the latest
		// checkpoint is the final one.
		all, err := checkpoints(l.dir.path)
		if err == nil && len(all) > 0 {
			final = all[len(all)-1]
		}
	}
	return last, final, done, nil
}

// withField returns metrics (a value that marshals to a JSON object) with
// one more top-level key, added last.
func withField(metrics any, key string, v any) (json.RawMessage, error) {
	m, err := json.Marshal(metrics)
	if err != nil {
		return nil, err
	}
	m = bytes.TrimSpace(m)
	if len(m) < 2 || m[0] != '{' {
		return nil, errors.New("metrics must be a JSON object")
	}
	f, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	k, _ := json.Marshal(key)
	var b bytes.Buffer
	b.Write(m[:len(m)-1])
	if len(bytes.TrimSpace(m[1:len(m)-1])) > 0 {
		b.WriteByte(',')
	}
	b.Write(k)
	b.WriteByte(':')
	b.Write(f)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (l *loop) checkpoint(done int) (string, error) {
	t0 := l.now()
	mb, rb, err := l.dir.sync()
	if err != nil {
		return "", err
	}
	rngState, err := l.rng.MarshalBinary()
	if err != nil {
		return "", err
	}
	data, err := l.st.dataState()
	if err != nil {
		return "", err
	}
	st := State{Step: done, RNG: rngState, Data: data, MetricsBytes: mb, RolloutsBytes: rb, ConfigSHA256: l.dir.configSHA,
		GeneratedTokens: l.tokens}
	path, err := writeCheckpoint(l.dir.path, st, l.st.save)
	if err != nil {
		return "", err
	}
	l.log.Info("checkpoint", "step", done, "path", path, "sec", l.now().Sub(t0).Seconds())
	return path, pruneCheckpoints(l.dir.path, l.cfg.Run.KeepCheckpoints)
}

// metricsLine renders {"step":N, <metrics fields>, "time":{...}}: the
// step first, the deterministic fields next, wall-clock fields last and
// apart. body is the line without "time".
func metricsLine(step int, metrics any, wall map[string]float64) (body, line []byte, err error) {
	m, err := json.Marshal(metrics)
	if err != nil {
		return nil, nil, err
	}
	m = bytes.TrimSpace(m)
	if len(m) < 2 || m[0] != '{' {
		return nil, nil, errors.New("metrics must be a JSON object")
	}
	inner := m[1 : len(m)-1]
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"step":%d`, step)
	if len(inner) > 0 {
		b.WriteByte(',')
		b.Write(inner)
	}
	body = append([]byte(nil), b.Bytes()...)
	body = append(body, '}')
	t, err := json.Marshal(wall)
	if err != nil {
		return nil, nil, err
	}
	b.WriteString(`,"time":`)
	b.Write(t)
	b.WriteString("}\n")
	return body, b.Bytes(), nil
}
