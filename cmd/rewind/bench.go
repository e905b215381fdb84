package main

import (
	"fmt"
	"runtime"
	"strings"
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
			rates, cpuRates := map[string]float64{}, map[string]float64{}
			for _, impl := range []string{"openblas", "gonum"} {
				r, perCPU, err := cpu.SGEMMRate(impl, sgemmN, minTime/2)
				if err != nil {
					fmt.Fprintf(out, "SGEMM %-8s unavailable: %v\n", impl, err)
					continue
				}
				rates[impl], cpuRates[impl] = r, perCPU
				fmt.Fprintf(out, "SGEMM %-8s %dx%dx%d: %.1f GFLOP/s, %.1f GFLOP/cpu-s\n", impl, sgemmN, sgemmN, sgemmN, r, perCPU)
			}
			const row = "%-6s %9s %-8s %11s %13s %10s %12s %5s %8s %15s %16s %16s\n"
			fmt.Fprintf(out, row, "preset", "params", "blas", "train tok/s", "train GFLOP/s", "% of SGEMM", "sample tok/s", "batch", "peak MiB", "train tok/cpu-s", "sample tok/cpu-s", "% of SGEMM/cpu-s")
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
				frac, cpuFrac := "-", "-"
				if s := rates[r.BLAS]; s > 0 {
					frac = fmt.Sprintf("%.0f%%", 100*r.TrainGFLOPs/s)
				}
				if s := cpuRates[r.BLAS]; s > 0 {
					cpuFrac = fmt.Sprintf("%.0f%%", 100*r.TrainGFLOPsPerCPU/s)
				}
				f0 := func(v float64) string { return fmt.Sprintf("%.0f", v) }
				fmt.Fprintf(out, row, name, fmt.Sprint(r.Params), r.BLAS, f0(r.TrainTokPerSec), fmt.Sprintf("%.1f", r.TrainGFLOPs), frac,
					f0(r.SampleTokPerSec), fmt.Sprint(bc.SampleReqs), f0(r.PeakRSSMiB), f0(r.TrainTokPerCPUSec), f0(r.SampleTokPerCPUSec), cpuFrac)
			}
			return nil
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
