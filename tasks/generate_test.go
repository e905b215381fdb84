package tasks

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden returns the JSONL lines of n tasks and their reference solutions.
func golden(t *testing.T, family string, n, difficulty int) []byte {
	t.Helper()
	ts, err := Generate(family, n, 7, difficulty)
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, tk := range ts {
		sol, err := Solution(tk)
		require.NoError(t, err)
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(struct {
			abi.Task
			Solution string `json:"solution"`
		}{tk, sol}))
	}
	return buf.Bytes()
}

func TestGenerateGolden(t *testing.T) {
	for _, family := range Families() {
		for _, d := range []int{1, DefaultDifficulty, MaxDifficulty} {
			name := filepath.Join("testdata", "golden", family+"-d"+string(rune('0'+d))+".jsonl")
			t.Run(name, func(t *testing.T) {
				got := golden(t, family, 4, d)
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
					require.NoError(t, os.WriteFile(name, got, 0o644))
				}
				want, err := os.ReadFile(name)
				require.NoError(t, err, "run go test ./tasks -run Golden -update to create it")
				require.Equal(t, string(want), string(got))
			})
		}
	}
}

func TestGenerateDeterministicAndPrefixStable(t *testing.T) {
	for _, family := range Families() {
		t.Run(family, func(t *testing.T) {
			a, err := Generate(family, 20, 3, 2)
			require.NoError(t, err)
			b, err := Generate(family, 20, 3, 2)
			require.NoError(t, err)
			require.Equal(t, a, b)
			short, err := Generate(family, 5, 3, 2)
			require.NoError(t, err)
			require.Equal(t, a[:5], short, "task i must not depend on n")
			other, err := Generate(family, 20, 4, 2)
			require.NoError(t, err)
			require.NotEqual(t, a, other, "another seed must give other tasks")
			harder, err := Generate(family, 20, 3, 3)
			require.NoError(t, err)
			require.NotEqual(t, a[0].Prompt, harder[0].Prompt)
			ids := map[string]bool{}
			for _, tk := range a {
				require.False(t, ids[tk.ID], "duplicate id %s", tk.ID)
				ids[tk.ID] = true
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	for name, call := range map[string]func() error{
		"unknown family": func() error { _, err := Generate("div", 1, 1, 2); return err },
		"difficulty 0":   func() error { _, err := Generate("sum", 1, 1, 0); return err },
		"difficulty 6":   func() error { _, err := Generate("sum", 1, 1, 6); return err },
		"negative n":     func() error { _, err := Generate("sum", -1, 1, 2); return err },
	} {
		t.Run(name, func(t *testing.T) { require.Error(t, call()) })
	}
}

// TestSolutionsVerify: every reference solution is fully correct, and at
// the default difficulty prompt plus solution stays short.
func TestSolutionsVerify(t *testing.T) {
	for _, family := range Families() {
		for d := MinDifficulty; d <= MaxDifficulty; d++ {
			ts, err := Generate(family, 100, 11, d)
			require.NoError(t, err)
			longest := 0
			for _, tk := range ts {
				sol, err := Solution(tk)
				require.NoError(t, err)
				v := Verify(&abi.VerifyRequest{Task: tk, Response: sol})
				require.Equal(t, abi.StatusOK, v.Status, v.Detail)
				require.Equal(t, 1.0, v.Score, "%s: %s", tk.Prompt, sol)
				require.NotNil(t, v.FirstError)
				require.Equal(t, 0, *v.FirstError, v.Detail)
				require.NotContains(t, v.StepCorrect, false)
				require.Len(t, v.StepCorrect, len(SplitSteps(sol)))
				longest = max(longest, len(tk.Prompt)+len(sol))
			}
			if d == DefaultDifficulty {
				require.LessOrEqual(t, longest, 200, "%s at the default difficulty is too long for a tiny model", family)
			}
		}
	}
}

func TestGenerateExcluding(t *testing.T) {
	all, err := Generate("sum", 10, 1, 1)
	require.NoError(t, err)
	skip := map[string]bool{all[0].Prompt: true, all[3].Prompt: true}
	got, err := GenerateExcluding("sum", 5, 1, 1, func(p string) bool { return skip[p] })
	require.NoError(t, err)
	require.Equal(t, []abi.Task{all[1], all[2], all[4], all[5], all[6]}, got)
	_, err = GenerateExcluding("sum", 5, 1, 1, func(string) bool { return true })
	require.ErrorContains(t, err, "only 0 of 5")
}
