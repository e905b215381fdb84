package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/run"
	"github.com/rewind-rl/rewind/trainer/sft"
)

// Workspace is a prepared experiment folder:
//
//	experiment.yaml     the resolved experiment
//	data/train.jsonl    generated training tasks
//	data/eval.jsonl     held-out tasks (no prompt of train or the warm start)
//	data/localize.jsonl the warm start's localization examples (algo.aux_loc_data)
//	warmstart/          model/, sft.json, sft.log, key (cache key)
//	train.yaml          the train config every run starts from
type Workspace struct {
	Dir, TrainData, EvalData, Model, TrainConfig string
	// LocData holds the warm start's localization examples as
	// {"prompt", "completion"} lines: the data of the auxiliary
	// localization loss (algo.aux_loc_coef), set as algo.aux_loc_data.
	LocData string
	// SFT is the warm start's report (from sft.json).
	SFT sft.Report
	// Reused says the warm start came from the cache.
	Reused bool
	// warmKey identifies the warm start (its SFT config's hash).
	warmKey string
}

// stampFile, in a run directory made by demo or compare, identifies the
// warm start and the config the run was trained with.
const stampFile = "experiment.key"

// trainLog, in a run directory made by compare, holds the run's progress.
const trainLog = "train.log"

// runStamp is the identity of a run: the warm start's key and the run's
// resolved config (progress output aside).
func (w *Workspace) runStamp(cfg run.Config) (string, error) {
	cfg.Run.Log = ""
	y, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(w.warmKey+"\n"), y...))
	return hex.EncodeToString(sum[:]), nil
}

// claimRun makes sure dir is empty or holds a run (finished or not) of the
// same warm start and config, so that a finished run is never reused, nor
// an interrupted one resumed, after the experiment or the warm start
// changed; it writes the stamp into a new dir.
func claimRun(dir, stamp string) error {
	path := filepath.Join(dir, stampFile)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if strings.TrimSpace(string(old)) != stamp {
			return fmt.Errorf("%s holds a run of another warm start or config (its %s differs): delete the directory to train it again, or choose another --out", dir, stampFile)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty and has no %s: it holds a run of an older or another experiment; delete it to train it again, or choose another --out", dir, stampFile)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(stamp+"\n"), 0o644)
}

// Prepare makes (or reuses) the workspace of e in dir. Data are always
// regenerated (cheap and deterministic); the warm start is reused when
// warmstart/key matches the SFT config, else trained (minutes). Log lines
// go to out (nil discards them).
func Prepare(ctx context.Context, e Experiment, dir string, out io.Writer) (*Workspace, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	w := &Workspace{
		Dir:         dir,
		TrainData:   filepath.Join(dir, "data", "train.jsonl"),
		EvalData:    filepath.Join(dir, "data", "eval.jsonl"),
		LocData:     filepath.Join(dir, "data", "localize.jsonl"),
		Model:       filepath.Join(dir, "warmstart", "model"),
		TrainConfig: filepath.Join(dir, "train.yaml"),
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	y, err := e.YAML()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "experiment.yaml"), y, 0o644); err != nil {
		return nil, err
	}
	if err := w.writeData(e); err != nil {
		return nil, err
	}
	if err := w.writeTrainConfig(e); err != nil {
		return nil, err
	}
	if err := w.warmStart(ctx, e, out); err != nil {
		return nil, err
	}
	return w, nil
}

// writeData generates the training set and the held-out set: the
// training set shares no prompt with the warm start's demonstrations and
// localization examples (the self stage reuses those tasks), and the
// held-out set none with either. Both come from their own generator seeds
// (data.seed and data.seed+1, distinct from sft.seed), so the exclusion
// only removes the few coincidental repeats (and repeats within a set).
func (w *Workspace) writeData(e Experiment) error {
	seen, err := warmPrompts(e)
	if err != nil {
		return err
	}
	// fresh accepts a prompt not seen yet and marks it seen, so each set
	// also holds distinct prompts.
	fresh := func(p string) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		return false
	}
	train, err := tasks.GenerateExcluding(e.Family, e.Data.Train, e.Data.Seed, e.Difficulty, fresh)
	if err != nil {
		return fmt.Errorf("training set: %w", err)
	}
	eval, err := tasks.GenerateExcluding(e.Family, e.Data.Eval, e.Data.Seed+1, e.Difficulty, fresh)
	if err != nil {
		return fmt.Errorf("held-out set: %w", err)
	}
	if err := writeTasks(w.TrainData, train); err != nil {
		return err
	}
	if err := writeTasks(w.EvalData, eval); err != nil {
		return err
	}
	return w.writeLocData(e)
}

// writeLocData writes the warm start's localization examples.
func (w *Workspace) writeLocData(e Experiment) error {
	exs, err := warmExamples(e)
	if err != nil {
		return err
	}
	type line struct {
		Prompt     string `json:"prompt"`
		Completion string `json:"completion"`
	}
	var loc []line
	for _, ex := range exs {
		if ex.Kind == sft.KindLocalize {
			loc = append(loc, line{ex.Prompt, ex.Completion})
		}
	}
	f, err := os.Create(w.LocData)
	if err != nil {
		return err
	}
	if err := data.WriteJSONL(f, len(loc), func(i int) (any, error) { return loc[i], nil }); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// warmExamples are the warm start's stage-1 examples, as sft.Train
// builds them (mixed difficulties included).
func warmExamples(e Experiment) ([]sft.Example, error) {
	sc := e.SFT
	sc.Family, sc.Difficulty = e.Family, e.Difficulty
	return sc.TrainingExamples()
}

// warmPrompts is the set of problems the warm start was shown: the
// prompts of its solve examples and the problem line of its localization
// examples.
func warmPrompts(e Experiment) (map[string]bool, error) {
	exs, err := warmExamples(e)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ex := range exs {
		if ex.Kind == sft.KindSolve {
			seen[ex.Prompt] = true
		} else if line, _, ok := strings.Cut(strings.TrimPrefix(ex.Prompt, "Problem: "), "\n"); ok {
			seen[line] = true // a localization example shows its problem
		}
	}
	return seen, nil
}

func writeTasks(path string, ts []abi.Task) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := data.WriteJSONL(f, len(ts), func(i int) (any, error) { return ts[i], nil }); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeTrainConfig writes e.Train with the workspace's paths as a rewind
// train config file, and checks that it loads and that its prompt
// template is the warm start's.
func (w *Workspace) writeTrainConfig(e Experiment) error {
	t := merge(e.Train, map[string]any{
		"model": map[string]any{"path": abs(w.Model)},
		"data":  map[string]any{"train": abs(w.TrainData), "eval": abs(w.EvalData)},
		"algo":  map[string]any{"aux_loc_data": abs(w.LocData)},
	})
	y, err := yaml.Marshal(t)
	if err != nil {
		return err
	}
	head := "# Written by rewind demo/compare from the experiment's train section; runs override\n# preset, run.dir, run.seed and each arm's keys.\n"
	if err := os.WriteFile(w.TrainConfig, append([]byte(head), y...), 0o644); err != nil {
		return err
	}
	cfg, err := run.Load(run.Sources{File: w.TrainConfig, Overrides: map[string]any{"run.dir": "unused"}})
	if err != nil {
		return fmt.Errorf("experiment train section: %w", err)
	}
	if got, want := cfg.Data.Template, e.SFT.Template; got != want {
		return fmt.Errorf("experiment: train.data.template %+v differs from sft.template %+v: the policy must see the prompts it was warm-started on", got, want)
	}
	return nil
}

// merge returns over merged into base: maps recursively, anything else
// (lists included) replaced.
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// warmStart trains the warm start unless warmstart/key matches.
func (w *Workspace) warmStart(ctx context.Context, e Experiment, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(out, nil))
	sc := e.SFT
	sc.Out = filepath.Join(w.Dir, "warmstart")
	sc.Family, sc.Difficulty = e.Family, e.Difficulty
	keyRaw, err := sc.YAML()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(keyRaw)
	key := hex.EncodeToString(sum[:])
	w.warmKey = key
	keyFile := filepath.Join(sc.Out, "key")
	report := filepath.Join(sc.Out, "sft.json")
	if old, err := os.ReadFile(keyFile); err == nil && strings.TrimSpace(string(old)) == key {
		if raw, err := os.ReadFile(report); err == nil && json.Unmarshal(raw, &w.SFT) == nil {
			if _, err := os.Stat(filepath.Join(w.Model, "config.json")); err == nil {
				w.Reused = true
				log.Info("warm start: reusing", "model", w.Model, "accuracy", w.SFT.Accuracy, "loc_precision", w.SFT.LocPrecision)
				return nil
			}
		}
	}
	// A stale or partial warm start is replaced whole.
	if err := os.RemoveAll(sc.Out); err != nil {
		return err
	}
	log.Info("warm start: training from scratch", "family", sc.Family, "steps", sc.Steps, "examples", sc.Examples, "log", filepath.Join(sc.Out, sft.LogFile))
	rep, err := sft.TrainLogged(ctx, sc, out)
	if err != nil {
		return fmt.Errorf("warm start: %w", err)
	}
	w.SFT = rep
	// The key is written last: its presence means the warm start is whole.
	return os.WriteFile(keyFile, []byte(key+"\n"), 0o644)
}
