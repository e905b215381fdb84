package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rewind-rl/rewind/experiment"
	"github.com/rewind-rl/rewind/trainer/probe"
)

func init() {
	var f experimentFlags
	var arm string
	cmd := &cobra.Command{
		Use:   "demo [--out DIR] [-c FILE] [--arm grpo]",
		Short: "Run the default experiment: data, warm start, RL training (GRPO with the tiny recipe) and its HTML report",
		Long: `Run Rewind's default experiment on the CPU: generate the default task
family's training and held-out data, warm-start a tiny model from scratch
on flawed demonstrations and localization examples (or reuse the one
cached in DIR/warmstart), train it with the experiment's grpo arm (GRPO
with the tiny recipe of docs/recipe.md; --arm srpo trains SRPO) with a
progress bar, evaluate the warm start and the final policy greedily on the
held-out tasks (pass@1 with 95% intervals and the paired improvement),
report how often continuations from a clean prefix (before the verifier's
first wrong step) and from an erroneous one are right (counted inside RL
for an arm that resets, measured with rewind probe's method on both
policies otherwise), and write DIR/run-ARM/report.html, which opens in a
browser with no network access. It prints its elapsed time.

Run it again to reuse the warm start and the finished run (an interrupted
run is resumed). Sizes come from the default experiment (--print-config);
-c FILE overrides any key. rewind compare runs every arm over several
seeds from the same workspace layout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := f.load(cmd)
			if e == nil || err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := experiment.Demo(ctx, experiment.DemoOptions{
				Experiment: *e, Dir: f.out, Arm: arm,
				Progress: cmd.ErrOrStderr(), Terminal: term.IsTerminal(int(os.Stderr.Fd())),
			})
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(res.Report)
			out := cmd.OutOrStdout()
			rate := func(r probe.Rate) string {
				return fmt.Sprintf("%.3f [%.3f, %.3f]", r.Rate, r.Low, r.High)
			}
			fmt.Fprintf(out, "held-out greedy pass@1 on %d tasks (95%% CI): warm start %s, after %s %s\n",
				res.EvalTasks, rate(res.WarmStart), arm, rate(res.Trained))
			fmt.Fprintf(out, "improvement: %+.3f [%+.3f, %+.3f] (paired bootstrap over the tasks)\n",
				float64(res.Improvement.Value), float64(res.Improvement.Lo), float64(res.Improvement.Hi))
			if res.Clean.Trials+res.Erroneous.Trials > 0 {
				fmt.Fprintf(out, "reset continuations right during training: from a clean prefix %s of %d, from an erroneous prefix %s of %d\n",
					rate(res.Clean), res.Clean.Trials, rate(res.Erroneous), res.Erroneous.Trials)
				fmt.Fprintf(out, "resets against the verifier's first error over %d parents: at or before it (a clean prefix) %.3f, exactly at it %.3f\n",
					res.LocParents, res.LocPrecision, res.LocRecall)
			}
			for _, p := range []struct {
				name string
				rep  *probe.Report
			}{{"warm start", res.WarmProbe}, {"after " + arm, res.TrainedProbe}} {
				if p.rep == nil {
					continue
				}
				fmt.Fprintf(out, "%s, continuations right from a clean prefix %s, from an erroneous prefix %s (rewind probe, %d failures)\n",
					p.name, rate(p.rep.Clean), rate(p.rep.Erroneous), p.rep.Failures)
			}
			fmt.Fprintf(out, "run directory: %s\nreport: file://%s\n", res.RunDir, abs)
			fmt.Fprintf(out, "elapsed: %s (data, warm start, training, evaluation and report)\n",
				time.Duration(res.WallSec*float64(time.Second)).Round(time.Second))
			return nil
		},
	}
	f.register(cmd, filepath.Join("runs", "demo"))
	cmd.Flags().StringVar(&arm, "arm", experiment.DemoArm, "experiment arm to train")
	rootCmd.AddCommand(cmd)
}
