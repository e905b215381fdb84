package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// The reference data is part of the checkout: every file the tests read
// is there, under the repository root.
func TestHFDirInRepository(t *testing.T) {
	root := RepoRoot()
	if root == "" {
		t.Fatal("RepoRoot found no go.mod of " + modulePath)
	}
	dir := RequireHFDir(t)
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel != filepath.Join("testdata", "hf", "qwen2-tiny") {
		t.Fatalf("HFDir %s is not testdata/hf/qwen2-tiny under %s", dir, root)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_golden.json", "golden.json", "logits.f32", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("reference file missing: %v", err)
		}
	}
}

// A test binary with no usable source path (-trimpath, scripts/gpu.sh)
// finds the root from its working directory, a package directory of the
// checkout, and not from another module's go.mod.
func TestRootAbove(t *testing.T) {
	root := RepoRoot()
	if got := rootAbove(filepath.Join(root, "trainer", "engine", "xla")); got != root {
		t.Fatalf("rootAbove(trainer/engine/xla) = %q, want %q", got, root)
	}
	other := t.TempDir()
	sub := filepath.Join(other, "pkg")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := rootAbove(sub); got != "" {
		t.Fatalf("rootAbove accepted another module's go.mod: %q", got)
	}
}
