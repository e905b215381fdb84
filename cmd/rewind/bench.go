package main

import (
	"fmt"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/trainer/engine/cpu"
)

// benchCmd groups the benchmarks; each adds itself as a subcommand.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Reproduce the benchmark numbers quoted in docs/",
}

func init() {
	var presets []string
	var minTime time.Duration
	var sgemmN int
	engineCmd := &cobra.Command{
		Use:   "engine [--preset tiny,small] [--time 2s]",
		Short: "CPU engine: SGEMM rates, training and sampling tokens/s, peak memory",
		Long: `Measure the machine's SGEMM rate (OpenBLAS and gonum, run as the engine
runs them: fixed row blocks over GOMAXPROCS goroutines), then train and sample
each preset model on random tokens:

  tiny:  16 sequences x 128 tokens per step; sampling 64 requests x 120 new tokens
  small: 4 sequences x 256 tokens per step; sampling 64 requests x 32 new tokens

Training GFLOP/s counts the work the engine executes (see cpu.TrainFLOPs) and
is compared with the SGEMM rate of the BLAS in use. Peak memory is the
process's VmHWM after each preset (cumulative: run one preset for its own
number). The tok/cpu-s columns divide by the process's CPU time instead of
wall time: on a machine shared with other work they show what the engine
does with the CPU it gets. Set REWIND_BLAS=gonum to measure the fallback.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "GOMAXPROCS %d, %s/%s\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
			rates := map[string]float64{}
			for _, impl := range []string{"openblas", "gonum"} {
				r, err := cpu.SGEMMRate(impl, sgemmN, minTime/2)
				if err != nil {
					fmt.Fprintf(out, "SGEMM %-8s unavailable: %v\n", impl, err)
					continue
				}
				rates[impl] = r
				fmt.Fprintf(out, "SGEMM %-8s %dx%dx%d: %.1f GFLOP/s\n", impl, sgemmN, sgemmN, sgemmN, r)
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "preset\tparams\tblas\ttrain tok/s\ttrain GFLOP/s\t% of SGEMM\tsample tok/s\tbatch\tpeak MiB\ttrain tok/cpu-s\tsample tok/cpu-s")
			for _, name := range presets {
				bc, ok := benchPresets[name]
				if !ok {
					return fmt.Errorf("--preset %q: have tiny, small", name)
				}
				bc.MinTime = minTime
				r, err := cpu.BenchEngine(cmd.Context(), bc)
				if err != nil {
					return fmt.Errorf("bench %s: %w", name, err)
				}
				frac := "-"
				if s := rates[r.BLAS]; s > 0 {
					frac = fmt.Sprintf("%.0f%%", 100*r.TrainGFLOPs/s)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.1f\t%s\t%.0f\t%d\t%.0f\t%.0f\t%.0f\n", name, r.Params, r.BLAS, r.TrainTokPerSec, r.TrainGFLOPs, frac, r.SampleTokPerSec, bc.SampleReqs, r.PeakRSSMiB, r.TrainTokPerCPUSec, r.SampleTokPerCPUSec)
				tw.Flush()
			}
			return tw.Flush()
		},
	}
	engineCmd.Flags().StringSliceVar(&presets, "preset", []string{"tiny", "small"}, "presets to run, in order ("+strings.Join([]string{"tiny", "small"}, ", ")+")")
	engineCmd.Flags().DurationVar(&minTime, "time", 2*time.Second, "minimum time per measured phase")
	engineCmd.Flags().IntVar(&sgemmN, "sgemm-n", 512, "size of the square SGEMM probe")
	benchCmd.AddCommand(engineCmd)
	rootCmd.AddCommand(benchCmd)
}

// benchPresets are the workloads of `rewind bench engine`; the same as
// BenchmarkEngineTiny/Small in trainer/engine/cpu.
var benchPresets = map[string]cpu.BenchConfig{
	"tiny":  {Preset: "tiny", Vocab: 64, TrainSeqs: 16, SampleReqs: 64, PromptLen: 8, NewTokens: 120},
	"small": {Preset: "small", Vocab: 64, TrainSeqs: 4, SeqLen: 256, SampleReqs: 64, PromptLen: 8, NewTokens: 32},
}
