package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/trainer/run"
)

func init() {
	var (
		file    string
		model   string
		dataset string
		out     string
		samples int
		ks      []int
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "eval [-c FILE] [--model DIR] [--data FILE] [-o RESULT.json]",
		Short: "Evaluate a policy: greedy pass@1 and sampled pass@k with a verifier",
		Long: `Evaluate a policy on a dataset with the config's verifier.

Greedy pass@1 (temperature 0, one sample, no resets, as docs/method.md evaluates)
is always computed; --samples N also draws N samples per task at
sampling.temperature / sampling.top_p and reports the unbiased pass@k for
each --k. Samples whose verdict is unusable (timeout, crash, abstain, ...)
are counted apart, never as wrong.

The config is the training config (same layers and keys as rewind train):
model.* (or --model: a policy directory, a checkpoint, or a run directory
for its latest checkpoint), data.eval (or --data), data.template,
sampling.*, reward.verifier and plugins. The JSON result goes to -o (and a
short summary to stdout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src := run.Sources{File: file, Environ: os.Environ(), Flags: cmd.Flags()}
			if model != "" {
				src.Overrides = map[string]any{"model.path": model, "model.preset": ""}
			}
			cfg, err := run.Load(src)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := run.Eval(ctx, run.EvalOptions{Config: cfg, Dataset: dataset, Samples: samples, Ks: ks, Limit: limit})
			if err != nil {
				return err
			}
			raw, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, append(raw, '\n'), 0o644); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), string(raw))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d tasks: greedy pass@1 %.4f (%d unusable)", res.Tasks, res.PassAt1Greedy, res.GreedyUnusable)
			for _, k := range ks {
				key := fmt.Sprintf("pass@%d", k)
				fmt.Fprintf(cmd.ErrOrStderr(), ", %s %.4f", key, res.PassAtK[key])
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&file, "config", "c", "", "YAML config file")
	f.StringVar(&model, "model", "", "policy, checkpoint or run directory (overrides model.*)")
	f.StringVar(&dataset, "data", "", "dataset JSONL (overrides data.eval)")
	f.StringVarP(&out, "output", "o", "", "write the JSON result here (default stdout)")
	f.IntVar(&samples, "samples", 0, "samples per task for pass@k (0: greedy only)")
	f.IntSliceVar(&ks, "k", nil, "k of pass@k, e.g. --k 1,4,8 (each <= --samples)")
	f.IntVar(&limit, "limit", 0, "evaluate the first N tasks only")
	run.AddFlags(f)
	rootCmd.AddCommand(cmd)
}
