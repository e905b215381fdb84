package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	dataset "github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/sft"
)

// dataFlags are the flags shared by the data subcommands.
type dataFlags struct {
	n          int
	seed       uint64
	difficulty int
}

func (f *dataFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.n, "n", 1000, "number of lines")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "generator seed; line i depends only on (family, seed, difficulty, i)")
	cmd.Flags().IntVar(&f.difficulty, "difficulty", tasks.DefaultDifficulty,
		fmt.Sprintf("difficulty %d..%d", tasks.MinDifficulty, tasks.MaxDifficulty))
}

func familyList() string {
	var b strings.Builder
	for _, f := range tasks.Families() {
		fmt.Fprintf(&b, "  %-4s %s\n", f, tasks.Describe(f))
	}
	return b.String()
}

func init() {
	data := &cobra.Command{
		Use:   "data",
		Short: "Generate procedural reasoning datasets and warm-start data",
	}

	var gf dataFlags
	var withSolutions bool
	var exclude []string
	gen := &cobra.Command{
		Use:   "gen FAMILY [--n N] [--seed S] [--difficulty D] [--with-solutions] > FILE.jsonl",
		Short: "Write a JSONL dataset of one task family",
		Long: `Write N tasks of a family as JSONL, one {"id","prompt","answer","meta"}
object per line; meta holds what the family's process verifier needs.
--with-solutions adds "solution", the reference step-by-step solution.
--exclude FILE (repeatable) skips tasks whose prompt appears in a JSONL
file, to draw a held-out set that shares no problem with a training set.

Families:
` + familyList(),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seen, err := promptsOf(exclude)
			if err != nil {
				return err
			}
			ts, err := tasks.GenerateExcluding(args[0], gf.n, gf.seed, gf.difficulty, func(p string) bool { return seen[p] })
			if err != nil {
				return err
			}
			return dataset.WriteJSONL(cmd.OutOrStdout(), len(ts), func(i int) (any, error) {
				if !withSolutions {
					return ts[i], nil
				}
				sol, err := tasks.Solution(ts[i])
				return struct {
					abi.Task
					Solution string `json:"solution"`
				}{ts[i], sol}, err
			})
		},
	}
	gf.register(gen)
	gen.Flags().BoolVar(&withSolutions, "with-solutions", false, `add the reference solution of each task as "solution"`)
	gen.Flags().StringArrayVar(&exclude, "exclude", nil, "skip tasks whose prompt is in this JSONL file (repeatable)")

	var sf dataFlags
	var errorRate, locFraction float64
	sft := &cobra.Command{
		Use:   "sft FAMILY [--n N] [--seed S] [--difficulty D] [--error-rate R] [--loc-fraction F] > FILE.jsonl",
		Short: "Write warm-start examples: flawed demonstrations and localization examples",
		Long: `Write N supervised warm-start examples of a family as JSONL, one
{"kind","task_id","prompt","completion","first_error"} object per line.
Demonstrations ("solve") carry a slip in each step with probability
--error-rate, which propagates to a wrong final answer; a share
--loc-fraction are localization examples ("localize"): a flawed chain in
the self localizer's short prompt and the answer \boxed{k}, k its first
wrong step. rewind sft generates the same data itself.

Families:
` + familyList(),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			exs, err := sft.Examples(args[0], sf.n, sf.seed, sf.difficulty, errorRate, locFraction)
			if err != nil {
				return err
			}
			return dataset.WriteJSONL(cmd.OutOrStdout(), len(exs), func(i int) (any, error) { return exs[i], nil })
		},
	}
	sf.register(sft)
	sft.Flags().Float64Var(&errorRate, "error-rate", 0.1, "probability that a demonstration step carries a slip")
	sft.Flags().Float64Var(&locFraction, "loc-fraction", 0.3, "share of localization examples")

	data.AddCommand(gen, sft)
	rootCmd.AddCommand(data)
}

// promptsOf returns the "prompt" of every line of the given JSONL files.
func promptsOf(files []string) (map[string]bool, error) {
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var t struct {
				Prompt *string `json:"prompt"`
			}
			if err := json.Unmarshal([]byte(line), &t); err != nil || t.Prompt == nil {
				return nil, fmt.Errorf("%s:%d: want a JSON object with a \"prompt\" (err: %v)", f, i+1, err)
			}
			seen[*t.Prompt] = true
		}
	}
	return seen, nil
}
