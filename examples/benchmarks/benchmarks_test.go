// Package benchmarks_test checks the benchmark folders: each config loads
// strictly, the committed datasets are what the generator makes, and the
// localization template is the one the warm start trains on.
package benchmarks_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/config"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/run"
	"github.com/rewind-rl/rewind/trainer/sft"
)

func readTasks(t *testing.T, path string) []abi.Task {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []abi.Task
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var tk abi.Task
		require.NoError(t, json.Unmarshal(line, &tk))
		out = append(out, tk)
	}
	return out
}

// jsonEq compares tasks by their JSON form (raw messages may differ in
// spacing only).
func jsonEq(t *testing.T, want, got []abi.Task) {
	t.Helper()
	a, err := json.Marshal(want)
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(a), string(b))
}

func TestBenchmarkFolders(t *testing.T) {
	for _, family := range tasks.Families() {
		t.Run(family, func(t *testing.T) {
			sc, err := sft.Load(config.Sources{File: filepath.Join(family, "sft.yaml")})
			require.NoError(t, err)
			require.NoError(t, sc.Validate())
			require.Equal(t, family, sc.Family)
			d := sc.Difficulty // the datasets have the warm start's difficulty

			train := readTasks(t, filepath.Join(family, "train.jsonl"))
			want, err := tasks.Generate(family, 1000, 1, d)
			require.NoError(t, err)
			jsonEq(t, want, train)

			// eval.jsonl shares no prompt with the warm start's examples.
			sftTasks, err := tasks.Generate(family, sc.Examples, sc.Seed, d)
			require.NoError(t, err)
			seen := map[string]bool{}
			for _, tk := range sftTasks {
				seen[tk.Prompt] = true
			}
			eval := readTasks(t, filepath.Join(family, "eval.jsonl"))
			want, err = tasks.GenerateExcluding(family, 200, 2, d, func(p string) bool { return seen[p] })
			require.NoError(t, err)
			jsonEq(t, want, eval)

			// The warm-start config loads, and the RL config loads strictly,
			// renders prompts as the warm start did and self-localizes with
			// the prompt it taught.
			t.Chdir(filepath.Join("..", ".."))
			cfg, err := run.Load(run.Sources{File: filepath.Join("examples", "benchmarks", family, "train.yaml")})
			require.NoError(t, err)
			require.Equal(t, "short", cfg.Localizer.Template)
			require.Equal(t, sc.Template, cfg.Data.Template)
			require.Equal(t, "runs/sft-"+family+"/model", cfg.Model.Path)
			require.Equal(t, filepath.Join(sc.Out, "model"), cfg.Model.Path)
		})
	}
}
