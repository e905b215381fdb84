package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/trainer/engine/xla"
)

func init() {
	var (
		backend, plugin, dtype, batches string
		trainBatch, trainLen, steps     int
		promptLen, newTokens, layers    int
		peak                            float64
		skipTrain, asJSON               bool
		settings                        []string
	)
	cmd := &cobra.Command{
		Use:   "xla --backend pjrt --pjrt-plugin /abs/xla_cuda_plugin.so",
		Short: "XLA engine on the Qwen2-0.5B shape: training tokens/s and MFU, sampled tokens/s",
		Long: `Randomly initialise a Qwen2-0.5B-shaped model (hidden 896, 24 layers, 14
heads, 2 key/value heads, vocabulary 151,936, tied head), then:

  training: AdamW steps on --train-batch x --train-len random tokens (one
            untimed step compiles the graphs), tokens/s and MFU against
            --peak-tflops (H100 SXM dense bf16: 989);
  sampling: for each --sample-batch, --prompt-len random prompt tokens and
            --new-tokens sampled at temperature 1 (one untimed run compiles).

Compile times of every graph are printed. See docs/bench/xla.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var sb []int
			for _, s := range strings.Split(batches, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return fmt.Errorf("--sample-batch %q: want positive integers separated by commas", batches)
				}
				sb = append(sb, n)
			}
			extra := map[string]string{"backend": backend, "compute_dtype": dtype}
			if plugin != "" {
				extra["pjrt_plugin"] = plugin
			}
			for _, kv := range settings {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want key=value, e.g. --set token_budget=4096 (keys: docs/xla-engine.md)", kv)
				}
				extra[k] = v
			}
			m := xla.Qwen2_0_5B
			if layers < 1 {
				return fmt.Errorf("--layers %d: want at least 1", layers)
			}
			m.Layers = layers
			cfg := xla.BenchConfig{Model: m, Extra: extra, TrainBatch: trainBatch, TrainLen: trainLen,
				TrainSteps: steps, SampleBatch: sb, PromptLen: promptLen, NewTokens: newTokens, PeakTFLOPs: peak,
				Seed: 1, SkipTraining: skipTrain}
			r, err := xla.Bench(cmd.Context(), cfg, func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) })
			if err != nil {
				return err
			}
			for _, c := range r.Compiles {
				fmt.Fprintf(out, "compiled %-28s %-40s %v\n", c.Graph, c.Bucket, c.Duration)
			}
			if asJSON {
				b, _ := json.MarshalIndent(r, "", "  ")
				fmt.Fprintln(out, string(b))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&backend, "backend", xla.BackendPJRT, "pjrt (XLA through --pjrt-plugin) or go (pure Go: only for tiny checks)")
	f.StringVar(&plugin, "pjrt-plugin", "", "absolute path of the PJRT plugin, e.g. <site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	f.StringVar(&dtype, "compute-dtype", "bfloat16", "float32 or bfloat16 (master weights and optimiser state stay float32)")
	f.IntVar(&trainBatch, "train-batch", 8, "sequences per training step")
	f.IntVar(&trainLen, "train-len", 1024, "tokens per training sequence")
	f.IntVar(&steps, "train-steps", 10, "timed training steps")
	f.StringVar(&batches, "sample-batch", "64,256", "sampling batch sizes, comma-separated")
	f.IntVar(&promptLen, "prompt-len", 64, "prompt tokens per request")
	f.IntVar(&newTokens, "new-tokens", 256, "sampled tokens per request")
	f.Float64Var(&peak, "peak-tflops", 989, "the card's dense peak TFLOP/s in the compute dtype, for MFU")
	f.BoolVar(&skipTrain, "skip-train", false, "only measure sampling")
	f.IntVar(&layers, "layers", xla.Qwen2_0_5B.Layers, "transformer layers (fewer keeps the full widths for a quick check on a small machine)")
	f.BoolVar(&asJSON, "json", false, "also print the result as JSON")
	f.StringArrayVar(&settings, "set", nil, "engine setting key=value, repeatable (e.g. token_budget=4096 to train in micro-batches, max_batch=128)")
	benchCmd.AddCommand(cmd)
}
