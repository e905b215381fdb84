package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rewind-rl/rewind/experiment"
	"github.com/rewind-rl/rewind/internal/config"
)

// experimentFlags are the flags shared by compare and demo.
type experimentFlags struct {
	file      string
	out       string
	print     bool
	printKeys bool
}

func (f *experimentFlags) register(cmd *cobra.Command, defaultOut string) {
	cmd.Flags().StringVarP(&f.file, "config", "c", "", "experiment YAML merged over the default one (see --print-config)")
	cmd.Flags().StringVar(&f.out, "out", defaultOut, "workspace and output directory")
	cmd.Flags().BoolVar(&f.print, "print-config", false, "print the default experiment (with comments), or the resolved one with -c or key flags, and exit")
	cmd.Flags().BoolVar(&f.printKeys, "print-config-keys", false, "print every experiment key with its default as Markdown (docs/experiment-config.md) and exit")
	experiment.AddFlags(cmd.Flags())
}

// load returns the experiment, or nil after printing it.
func (f *experimentFlags) load(cmd *cobra.Command) (*experiment.Experiment, error) {
	if f.printKeys {
		_, err := fmt.Fprint(cmd.OutOrStdout(), experiment.ConfigDoc())
		return nil, err
	}
	if f.print && f.file == "" && !anyExperimentKey(cmd) && !hasExperimentEnv() {
		_, err := cmd.OutOrStdout().Write(experiment.DefaultYAML())
		return nil, err
	}
	e, err := experiment.LoadSources(config.Sources{File: f.file, Environ: os.Environ(), Flags: cmd.Flags()})
	if err != nil {
		return nil, err
	}
	if f.print {
		y, err := e.YAML()
		if err != nil {
			return nil, err
		}
		_, err = cmd.OutOrStdout().Write(y)
		return nil, err
	}
	return &e, e.Validate()
}

// anyExperimentKey reports whether an experiment key flag was given.
func anyExperimentKey(cmd *cobra.Command) bool {
	found := false
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if _, ok := experiment.Schema().Lookup(fl.Name); ok || fl.Name == config.SetFlag {
			found = true
		}
	})
	return found
}

// hasExperimentEnv reports whether a REWIND_EXPERIMENT_* variable is set.
func hasExperimentEnv() bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, experiment.EnvPrefix) {
			return true
		}
	}
	return false
}

func init() {
	var f experimentFlags
	var arms []string
	var seeds []uint
	var parallel int
	cmd := &cobra.Command{
		Use:   "compare [-c FILE] [--out DIR] [--arms a,b] [--seeds 1,2,3]",
		Short: "Train several configs over several seeds and compare them",
		Long: `Run the experiment's arms (default: grpo, rrpo, srpo, srpo-oracle and
srpo-auxloc) over its seeds (default 1 to 5) at the same budget of
generated tokens (compare.max_generated_tokens, every phase counted) and
of trained trajectories per prompt, from the same warm start and data, one
run directory each under DIR/runs. Then evaluate every final policy
greedily on the held-out set and write DIR/compare.json, DIR/compare.md
(tables with bootstrap intervals over seeds: held-out accuracy, tokens to
reach GRPO's final accuracy, the localizers against the verifier's first
error, reset continuations) and DIR/report.html (the same, with curves
against steps and against generated tokens).

The workspace (generated data, the warm start) is made on the first run
and reused; finished runs are reused and interrupted ones resumed, so an
interrupted comparison continues where it stopped. The experiment is
default.yaml of package experiment (--print-config shows it) with -c FILE
merged over it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := f.load(cmd)
			if e == nil || err != nil {
				return err
			}
			if len(arms) > 0 {
				var keep []experiment.Arm
				for _, name := range arms {
					a, ok := e.Arm(name)
					if !ok {
						return fmt.Errorf("--arms: the experiment has no arm %q", name)
					}
					keep = append(keep, a)
				}
				e.Compare.Arms = keep
			}
			if len(seeds) > 0 {
				e.Compare.Seeds = nil
				for _, s := range seeds {
					e.Compare.Seeds = append(e.Compare.Seeds, uint64(s))
				}
			}
			if cmd.Flags().Changed("parallel") {
				e.Compare.Parallel = parallel
			}
			if err := e.Validate(); err != nil {
				return err
			}
			start := time.Now()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := experiment.Run(ctx, experiment.Options{Experiment: *e, Dir: f.out, Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), experiment.Markdown(res))
			fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s\nelapsed: %s\n", filepath.Join(f.out, experiment.ReportFile),
				time.Since(start).Round(time.Second))
			return nil
		},
	}
	f.register(cmd, filepath.Join("runs", "compare"))
	cmd.Flags().StringSliceVar(&arms, "arms", nil, "arms to run, by name (default: all of the experiment's)")
	cmd.Flags().UintSliceVar(&seeds, "seeds", nil, "seeds (default: the experiment's compare.seeds)")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "shorthand of --compare.parallel (its default is the experiment's, 2)")
	rootCmd.AddCommand(cmd)
}
