package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/internal/atomicfile"
	"github.com/rewind-rl/rewind/trainer/engine"
)

func init() {
	modelCmd := &cobra.Command{
		Use:   "model",
		Short: "Run a Llama/Qwen2-family checkpoint on an engine (logits, generation)",
	}
	var engineName string
	modelCmd.PersistentFlags().StringVar(&engineName, "engine", "cpu", "compute engine that runs the checkpoint: "+strings.Join(engine.Engines(), " or "))

	var dir, idsPath, outPath string
	logits := &cobra.Command{
		Use:   "logits --model DIR --ids FILE --out FILE",
		Short: "Write the logits of token-id sequences as little-endian float32",
		Long: `Write the logits of each sequence in FILE to --out as little-endian
float32, row-major [batch, seq, vocab]; the shape is printed on stderr.

The ids file is either a JSON array of arrays of ints ([[1,2,3],[4,5,6]]) or
plain text with one sequence per line, ids separated by white space (blank
lines are skipped). All sequences must have the same length.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seqs, err := readIDs(idsPath)
			if err != nil {
				return err
			}
			p, err := engine.Open(engineName, engine.Options{Dir: dir, WeightsOnly: true}) // inference only: no optimiser state
			if err != nil {
				return err
			}
			lg, ok := p.(engine.Logitser)
			if !ok {
				return fmt.Errorf("engine %s does not return logits (it has no Logits method); use --engine cpu", engineName)
			}
			out, err := lg.Logits(cmd.Context(), seqs)
			if err != nil {
				return err
			}
			vocab := len(out[0]) / len(seqs[0])
			buf := make([]byte, 0, 4*len(seqs)*len(seqs[0])*vocab)
			for _, row := range out {
				for _, v := range row {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
			}
			if err := atomicfile.WriteFile(outPath, buf); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: float32 [%d, %d, %d]\n", outPath, len(seqs), len(seqs[0]), vocab)
			return nil
		},
	}
	logits.Flags().StringVar(&dir, "model", "", "checkpoint folder (config.json, model.safetensors, tokenizer.json)")
	logits.Flags().StringVar(&idsPath, "ids", "", "token ids: JSON array of arrays, or one whitespace-separated sequence per line")
	logits.Flags().StringVar(&outPath, "out", "", "output file (little-endian float32)")
	for _, f := range []string{"model", "ids", "out"} {
		logits.MarkFlagRequired(f)
	}

	var gdir, prompt string
	var greedy bool
	var s engine.Sampling
	var seed uint64
	var showIDs bool
	generate := &cobra.Command{
		Use:   "generate --model DIR --prompt TEXT [--greedy] [--max-new N] [--temperature T] [--top-p P] [--top-k K] [--seed S]",
		Short: "Continue a prompt and print the new text",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := engine.Open(engineName, engine.Options{Dir: gdir, WeightsOnly: true})
			if err != nil {
				return err
			}
			ids := p.Tokenizer().Encode(prompt)
			if len(ids) == 0 {
				return fmt.Errorf("--prompt %q encodes to no tokens", prompt)
			}
			if greedy {
				s.Temperature = 0
			}
			res, err := p.Generate(cmd.Context(), []engine.GenRequest{{Prompt: ids, Sampling: s, Seed: seed}})
			if err != nil {
				return err
			}
			r := res[0]
			fmt.Fprintln(cmd.OutOrStdout(), r.Text)
			if showIDs {
				b, _ := json.Marshal(map[string]any{"prompt_ids": ids, "ids": r.Tokens, "logprobs": r.LogProbs, "stop": r.Reason})
				fmt.Fprintln(cmd.ErrOrStderr(), string(b))
			}
			return nil
		},
	}
	generate.Flags().StringVar(&gdir, "model", "", "checkpoint folder (config.json, model.safetensors, tokenizer.json)")
	generate.Flags().StringVar(&prompt, "prompt", "", "prompt text (special tokens written in it are matched)")
	generate.Flags().BoolVar(&greedy, "greedy", false, "greedy decoding (same as --temperature 0)")
	generate.Flags().IntVar(&s.MaxNewTokens, "max-new", 64, "maximum number of new tokens")
	generate.Flags().Float32Var(&s.Temperature, "temperature", 1, "sampling temperature (0 = greedy)")
	generate.Flags().Float32Var(&s.TopP, "top-p", 1, "nucleus sampling threshold (1 = off)")
	generate.Flags().IntVar(&s.TopK, "top-k", 0, "keep the K most probable tokens (0 = off)")
	generate.Flags().Uint64Var(&seed, "seed", 0, "random seed")
	generate.Flags().StringSliceVar(&s.StopStrings, "stop", nil, "stop string (repeatable); kept in the output")
	generate.Flags().BoolVar(&showIDs, "ids", false, "also print prompt ids, new ids, log-probs and the stop reason as JSON on stderr")
	for _, f := range []string{"model", "prompt"} {
		generate.MarkFlagRequired(f)
	}

	modelCmd.AddCommand(logits, generate)
	rootCmd.AddCommand(modelCmd)
}

// readIDs reads token-id sequences: a JSON array of arrays, or one
// whitespace-separated sequence per line. All must have the same length.
func readIDs(path string) ([][]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var seqs [][]int
	if trimmed := strings.TrimSpace(string(b)); strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(b, &seqs); err != nil {
			return nil, fmt.Errorf("%s: want a JSON array of arrays of ints: %w", path, err)
		}
	} else {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(make([]byte, 1<<20), 1<<30)
		line := 0
		for sc.Scan() {
			line++
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			seq := make([]int, len(f))
			for i, w := range f {
				if seq[i], err = strconv.Atoi(w); err != nil {
					return nil, fmt.Errorf("%s:%d: field %d: %q is not an integer token id", path, line, i+1, w)
				}
			}
			seqs = append(seqs, seq)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%s: no sequences", path)
	}
	for i, s := range seqs {
		if len(s) == 0 || len(s) != len(seqs[0]) {
			return nil, fmt.Errorf("%s: sequence %d has %d ids, sequence 1 has %d: all must have the same non-zero length", path, i+1, len(s), len(seqs[0]))
		}
	}
	return seqs, nil
}
