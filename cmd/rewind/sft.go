package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/trainer/sft"
)

func init() {
	var file, out string
	cmd := &cobra.Command{
		Use:   "sft -c FILE [--out DIR]",
		Short: "Warm-start a model from scratch on a task family's demonstrations",
		Long: `Train a tiny model from scratch (a trainer/model preset with a character
tokenizer, on model.engine: cpu by default, or xla) on warm-start data of a task family: solutions
in which a share of the steps carry a slip that propagates to a wrong
answer, and localization examples (a flawed chain in the self localizer's
short prompt, answered \boxed{k}). Then measure, on held-out tasks, greedy
accuracy and how well the model localizes the first wrong step of its own
failures and of synthetic flawed chains.

The YAML file holds the keys of sft.Config (family is required;
see examples/benchmarks/*/sft.yaml). The output folder receives model/ (a
checkpoint for model.path of rewind train), sft.json (the report, also
printed) and sft.log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := sft.LoadConfig(file)
			if err != nil {
				return err
			}
			if out != "" {
				cfg.Out = out
			}
			if cfg.Out == "" {
				cfg.Out = filepath.Join("runs", "sft-"+cfg.Family)
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("%s: %w", file, err)
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
	cmd.Flags().StringVarP(&file, "config", "c", "", "YAML config file (required)")
	cmd.Flags().StringVar(&out, "out", "", "output folder (overrides out: in the file; default runs/sft-FAMILY)")
	_ = cmd.MarkFlagRequired("config")
	rootCmd.AddCommand(cmd)
}
