package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/internal/config"
	"github.com/rewind-rl/rewind/trainer/sft"
)

func init() {
	var file string
	var printKeys, dryRun bool
	cmd := &cobra.Command{
		Use:   "sft [-c FILE] [--KEY VALUE ...]",
		Short: "Warm-start a model from scratch on a task family's demonstrations",
		Long: `Train a tiny model from scratch (a trainer/model preset with a character
tokenizer, on model.engine: cpu by default, or xla) on warm-start data of a
task family: solutions in which a share of the steps carry a slip that
propagates to a wrong answer, and localization examples (a flawed chain in
the self localizer's short prompt, answered \boxed{k}). Then measure, on
held-out tasks, greedy accuracy and how well the model localizes the first
wrong step of its own failures and of synthetic flawed chains.

The config loads like rewind train's: defaults, the YAML file (-c),
REWIND_SFT_* environment variables, then flags (--optim.lr 0.001, or
--set KEY=VALUE); unknown keys are errors. --print-config-keys lists the
keys (docs/sft-config.md; family is required; see
examples/benchmarks/*/sft.yaml). The output folder (out, default
runs/sft-FAMILY) receives model/ (a checkpoint for model.path of rewind
train), sft.json (the report, also printed) and sft.log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printKeys {
				_, err := fmt.Fprint(cmd.OutOrStdout(), sft.ConfigDoc())
				return err
			}
			cfg, err := sft.Load(config.Sources{File: file, Environ: os.Environ(), Flags: cmd.Flags()})
			if err != nil {
				return err
			}
			if cfg.Out == "" {
				cfg.Out = filepath.Join("runs", "sft-"+cfg.Family)
			}
			if err := cfg.Validate(); err != nil {
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
			rep, err := sft.TrainLogged(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		},
	}
	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&file, "config", "c", "", "YAML config file")
	f.BoolVar(&printKeys, "print-config-keys", false, "print every config key with its default as Markdown (docs/sft-config.md) and exit")
	f.BoolVar(&dryRun, "dry-run", false, "print the resolved config as YAML and exit")
	sft.AddFlags(f)
	rootCmd.AddCommand(cmd)
}
