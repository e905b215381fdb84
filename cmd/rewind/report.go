package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/trainer/report"
)

func init() {
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR [--out FILE]",
		Short: "Write the HTML report of a run directory",
		Long: `Write a self-contained HTML report of a run directory (metrics.jsonl,
rollouts.jsonl, summary.json, config.yaml and eval.json when present):
accuracy and reward against steps and against all generated tokens, tokens
by phase, reset position histograms, localizer precision and recall,
loss and gradient norm, verdict statuses and plugin calls, the summary and
the resolved config. The page has no scripts and loads nothing from the
network. A run still in progress gets a report of the steps logged so far.
Default output: RUN_DIR/report.html.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if out == "" {
				if err := report.WriteRun(dir); err != nil {
					return err
				}
				out = filepath.Join(dir, report.ReportFile)
			} else {
				r, err := report.ReadRun(dir)
				if err != nil {
					return err
				}
				var b bytes.Buffer
				if err := report.RenderRun(&b, r); err != nil {
					return err
				}
				if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the report here (default RUN_DIR/report.html)")
	rootCmd.AddCommand(cmd)
}
