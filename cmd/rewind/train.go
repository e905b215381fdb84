package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/rewind-rl/rewind/trainer/report"
	"github.com/rewind-rl/rewind/trainer/run"
)

func init() {
	var (
		file      string
		resume    string
		printKeys bool
		dryRun    bool
	)
	cmd := &cobra.Command{
		Use:   "train [-c FILE] [--resume DIR] [--KEY VALUE ...]",
		Short: "Train a policy with GRPO, RRPO or SRPO",
		Long: `Train a policy with GRPO, RRPO or SRPO (see docs/method.md).

The config is built in layers, each overriding the one before: a preset
(preset: in the file, REWIND_PRESET or --preset; default srpo), the YAML
file given with -c, REWIND_* environment variables (REWIND_ALGO_LOSS=clip
sets algo.loss), then flags (--algo.loss clip, or --set KEY=VALUE for any
key, including map entries such as reward.models.NAME). Unknown keys are
errors. Flag defaults below are the srpo preset's; --print-config-keys
prints every key with its default and the changes each preset makes.

The run directory (run.dir) receives config.yaml (the resolved config),
metrics.jsonl (one line per step; wall-clock seconds under "time"),
rollouts.jsonl, checkpoints/step-N (atomic) and summary.json.
--resume DIR continues a killed run from its newest intact checkpoint,
with the config it was started with: -c, config flags and REWIND_*
variables are refused. One process at a time owns a run directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printKeys {
				fmt.Fprint(cmd.OutOrStdout(), run.ConfigDoc())
				return nil
			}
			opts := run.Options{
				Log:      slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
				Progress: cmd.ErrOrStderr(),
				Terminal: term.IsTerminal(int(os.Stderr.Fd())),
			}
			if resume != "" {
				if file != "" || anyConfigFlag(cmd) {
					return errors.New("--resume continues a run with the config it started with; drop -c and config flags")
				}
				if env := run.EnvOverrides(os.Environ()); len(env) > 0 {
					return fmt.Errorf("--resume continues a run with the config it started with, but the environment sets %s: unset it, or start a new run with it", strings.Join(env, ", "))
				}
				opts.Resume = resume
			} else {
				cfg, err := run.Load(run.Sources{File: file, Environ: os.Environ(), Flags: cmd.Flags()})
				if err != nil {
					return err
				}
				if dryRun {
					y, err := cfg.YAML()
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(y)
					return err
				}
				opts.Config = cfg
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sum, err := run.Train(ctx, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained %d steps (%d generated tokens", sum.Steps, sum.GeneratedTokens)
			if sum.StoppedBy == "max_generated_tokens" {
				fmt.Fprint(cmd.OutOrStdout(), ", the run.max_generated_tokens budget")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "); run directory %s; final checkpoint %s\n", sum.Dir, sum.Checkpoint)
			// The report is derived from the run directory alone, so a
			// failure here loses nothing: `rewind report DIR` redoes it.
			if err := report.WriteRun(sum.Dir); err != nil {
				return fmt.Errorf("training finished, but the report failed (retry with `rewind report %s`): %w", sum.Dir, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(sum.Dir, "report.html"))
			return nil
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&file, "config", "c", "", "YAML config file")
	f.StringVar(&resume, "resume", "", "resume the run in this directory from its latest checkpoint")
	f.BoolVar(&printKeys, "print-config-keys", false, "print every config key with its default as Markdown (docs/config.md) and exit")
	f.BoolVar(&dryRun, "dry-run", false, "print the resolved config as YAML and exit")
	run.AddFlags(f)
	rootCmd.AddCommand(cmd)
}

// anyConfigFlag reports whether a config key flag was given.
func anyConfigFlag(cmd *cobra.Command) bool {
	found := false
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "resume", "config", "print-config-keys", "dry-run":
		default:
			found = true
		}
	})
	return found
}
