package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	dataset "github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/probe"
)

func init() {
	var (
		modelDir, engineName, dataFile, format, jsonOut string
		exclude, localizers                             []string
		n, difficulty                                   int
		seed                                            uint64
		opts                                            probe.Options
	)
	cmd := &cobra.Command{
		Use:   "probe --model DIR (FAMILY | --data FILE.jsonl) [flags]",
		Short: "Measure whether a policy's answers depend on its steps: clean vs erroneous prefix continuations",
		Long: `Sample failed solutions of held-out tasks at the RL sampling settings and,
for each failure, continuations from the prefix just before the process
verifier's first wrong step (clean) and from a prefix that includes it
(erroneous); report both success rates with 95% Wilson intervals, their
ratio with a bootstrap interval over failures, and greedy and sampled
pass@1. This is the paper's measurement (28.7% clean vs 16.3% erroneous):
a policy whose clean-prefix continuations do not succeed clearly more often
gains nothing from resets to before its first error, so SRPO and RRPO
cannot differ on it. Prefixes are the policy's own token ids.

With --localizer, each named localizer is also asked to localize every
probed failure, with the request a run sends (the step statistics of the
sampled tokens, the verdict with its first wrong step), and scored against
that step: precision (its own answers at the first wrong step), recall
(failures reset there) and the clean-prefix share (reset at or before it),
with Wilson intervals. Use it to pick a strategy or a threshold on the
warm start's own failures before training (docs/localizers.md).

Tasks are N tasks of FAMILY at --difficulty drawn with --seed (the default
seed is apart from the training seeds of rewind sft and rewind compare;
--exclude a training set to be sure), or the tasks of --data. The process
verifier is the native procverify (tasks.Verify). The prompt template is
--format, which must be the one the policy was trained with.

Families:
` + familyList(),
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ts []abi.Task
			switch {
			case dataFile != "" && len(args) == 1:
				return fmt.Errorf("give a FAMILY or --data, not both")
			case dataFile != "":
				ds, err := dataset.ReadFile(dataFile)
				if err != nil {
					return err
				}
				for _, ex := range ds.Examples {
					ts = append(ts, ex.Task())
				}
			case len(args) == 1:
				seen, err := promptsOf(exclude)
				if err != nil {
					return err
				}
				if ts, err = tasks.GenerateExcluding(args[0], n, seed, difficulty, func(p string) bool { return seen[p] }); err != nil {
					return err
				}
			default:
				return fmt.Errorf("give a task FAMILY or --data FILE.jsonl")
			}
			mc, err := model.ReadConfig(filepath.Join(modelDir, "config.json"))
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			opts.MaxTokens = mc.MaxPositions
			pol, err := engine.Open(engineName, engine.Options{Dir: modelDir, WeightsOnly: true})
			if err != nil {
				return fmt.Errorf("--model %s: %w", modelDir, err)
			}
			tmpl := dataset.Template{Kind: dataset.TemplatePlain, Format: format}
			if err := tmpl.Validate(); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			locs, closeLocs, err := probeLocalizers(cmd.Context(), localizers)
			if err != nil {
				return err
			}
			defer closeLocs()
			rep, err := probe.Run(cmd.Context(), pol, ts, probe.Setup{
				Render:     tmpl.Render,
				Segment:    tasks.SplitSteps,
				Verify:     nativeVerify,
				Localizers: locs,
			}, opts)
			if err != nil {
				return err
			}
			if err := rep.Write(cmd.OutOrStdout()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d tasks, %.0f s\n", rep.Tasks, rep.Seconds)
			if jsonOut == "" {
				return nil
			}
			b, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				return err
			}
			return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelDir, "model", "", "policy folder (rewind sft's model/, a run checkpoint, or a Hugging Face folder); required")
	f.StringVar(&engineName, "engine", "cpu", "engine that opens the policy")
	f.StringVar(&dataFile, "data", "", "JSONL tasks to probe instead of generated ones")
	f.StringArrayVar(&exclude, "exclude", nil, "skip generated tasks whose prompt is in this JSONL file (repeatable)")
	f.StringVar(&format, "format", dataset.PromptPlaceholder+"\n", "plain prompt template the policy was trained with")
	f.StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	f.StringArrayVar(&localizers, "localizer", nil, `also score a localizer on the probed failures: NAME (a built-in, e.g. entropy, confidence, random, first, oracle, prm), a .wasm module, or either with options, NAME:KEY=VALUE[,KEY=VALUE] (e.g. entropy:threshold=0.8, prm:reward_model=procprm); repeatable. Not self, which needs the policy as a generator`)
	f.IntVar(&n, "n", 1000, "generated tasks: greedy pass@1 is measured on all of them, failures are sampled from them")
	f.Uint64Var(&seed, "seed", 9001, "generator seed of the tasks")
	f.IntVar(&difficulty, "difficulty", tasks.DefaultDifficulty, fmt.Sprintf("difficulty %d..%d", tasks.MinDifficulty, tasks.MaxDifficulty))
	f.IntVar(&opts.Failures, "failures", 500, "failures with a wrong step to probe")
	f.IntVar(&opts.MaxPasses, "max-passes", 8, "at most this many sampled solutions per task while looking for failures")
	f.IntVar(&opts.Continuations, "continuations", 2, "continuations sampled from each prefix")
	f.StringVar(&opts.Erroneous, "erroneous", probe.ErroneousUniform, `erroneous prefix: "uniform" (after step j, j uniform from the first wrong step to the one before last, as a random reset) or "first" (right after the first wrong step)`)
	f.Float32Var(&opts.Temperature, "temperature", 0.7, "sampling temperature")
	f.Float32Var(&opts.TopP, "top-p", 0.95, "sampling top-p")
	f.Uint64Var(&opts.Seed, "sample-seed", 1, "seed of the samples and the bootstrap")
	_ = cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}

// nativeVerify is the probe's verifier: tasks.Verify, the native twin of
// the benchmarks' Wasm verifier.
func nativeVerify(_ context.Context, t abi.Task, response string, steps []abi.Span) (float64, int, error) {
	v := tasks.Verify(&abi.VerifyRequest{Task: t, Response: response, Steps: steps})
	if v.Status != abi.StatusOK || v.FirstError == nil {
		return 0, 0, fmt.Errorf("verify task %s: %s: %s", t.ID, v.Status, v.Detail)
	}
	return v.Score, *v.FirstError, nil
}

// probeLocalizers loads the localizers of --localizer specs through a host
// registry, as a run loads its plugins: SPEC is NAME or NAME:KEY=VALUE,...
// with NAME a built-in or a .wasm module.
func probeLocalizers(ctx context.Context, specs []string) ([]probe.NamedLocalizer, func(), error) {
	reg := host.NewRegistry(host.Options{Resolve: resolvePlugin})
	closeAll := func() { _ = reg.Close() }
	load := func(id, spec string) (host.Localizer, error) {
		name, opts, _ := strings.Cut(spec, ":")
		if name == "self" {
			return nil, errors.New("the self localizer needs the policy as a generator; rewind probe scores the others")
		}
		cfg, err := resolvePlugin(name)
		if err == nil && opts != "" {
			cfg.Options, err = parseOptions(strings.Split(opts, ","))
		}
		if err == nil {
			err = reg.Load(ctx, id, cfg)
		}
		if err != nil {
			return nil, err
		}
		return reg.Localizer(id)
	}
	var out []probe.NamedLocalizer
	for i, spec := range specs {
		l, err := load(fmt.Sprintf("localizer%d", i+1), spec)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--localizer %s: %w", spec, err)
		}
		out = append(out, probe.NamedLocalizer{Name: spec, Localize: func(ctx context.Context, req *abi.LocalizeRequest) (int, string, error) {
			loc, err := l.Localize(ctx, req)
			return loc.Step, loc.Fallback, err
		}})
	}
	return out, closeAll, nil
}
