package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// copyRun copies the report package's fixture run (made by trainer/run).
func copyRun(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "trainer", "report", "testdata", "run-srpo")
	dst := filepath.Join(t.TempDir(), "run")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func TestReportCommand(t *testing.T) {
	dir := copyRun(t)
	out, _, err := runRewind(t, "report", dir, "--out", "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "report.html"), strings.TrimSpace(out))
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), `id="chart-accuracy-tokens"`)

	other := filepath.Join(t.TempDir(), "r.html")
	_, _, err = runRewind(t, "report", dir, "--out", other)
	require.NoError(t, err)
	require.FileExists(t, other)

	_, _, err = runRewind(t, "report", t.TempDir(), "--out", "")
	require.ErrorContains(t, err, "is not a run directory")
}

const tinyDemo = `
difficulty: 1
data: {seed: 3, train: 12, eval: 4}
sft: {examples: 60, steps: 3, batch: 8, optim: {warmup_steps: 1}, eval_tasks: 0, eval_chains: 0, model: {preset: nano, max_positions: 160}, self: {steps: 0}}
train:
  run: {steps: 2, checkpoint_every: 0}
  data: {batch_prompts: 2}
  sampling: {max_steps: 2, max_step_tokens: 12, max_tokens: 24}
  localizer: {max_tokens: 4}
compare: {seeds: [1], eval_limit: 3}
`

// TestDemoAndCompareCommands runs both commands on a nano-sized
// experiment (flags are given explicitly: cobra keeps values between
// Execute calls).
func TestDemoAndCompareCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	out, _, err := runRewind(t, "compare", "--print-config", "-c", "")
	require.NoError(t, err)
	require.Contains(t, out, "arms:")
	require.Contains(t, out, "# The default experiment")

	cfg := filepath.Join(t.TempDir(), "exp.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(tinyDemo), 0o644))
	ws := t.TempDir()
	out, stderr, err := runRewind(t, "demo", "--print-config=false", "-c", cfg, "--out", ws, "--arm", "srpo")
	require.NoError(t, err, stderr)
	require.Contains(t, out, "report: file://")
	require.Contains(t, out, "improvement: ")
	require.Contains(t, out, "reset continuations right during training: from a clean prefix")
	require.FileExists(t, filepath.Join(ws, "run-srpo", "report.html"))

	// compare in the same workspace: the warm start is reused.
	out, stderr, err = runRewind(t, "compare", "--print-config=false", "-c", cfg, "--out", ws, "--arms", "grpo,srpo", "--seeds", "1")
	require.NoError(t, err, stderr)
	require.Contains(t, stderr, "warm start: reusing")
	require.Contains(t, out, "| grpo | grpo-tiny | 1 |")
	require.FileExists(t, filepath.Join(ws, "compare.json"))

	_, _, err = runRewind(t, "compare", "--print-config=false", "-c", cfg, "--out", ws, "--arms", "nope", "--seeds", "1")
	require.ErrorContains(t, err, `--arms: the experiment has no arm "nope"`)
}
