// Package testref locates the reference data that tests compare against:
// a tiny Qwen2 checkpoint, its tokenizer and the logits, gradients and ids
// that the Hugging Face libraries compute for it. The data is committed
// under testdata/hf at the repository root; testdata/hf/README.md says how
// it was made.
package testref

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// modulePath is the module this package belongs to; RepoRoot looks for
// the go.mod that declares it.
const modulePath = "github.com/rewind-rl/rewind"

// RepoRoot is the repository root. It is found from this file's location,
// so that it does not depend on the test's working directory; a test
// binary built with -trimpath (scripts/gpu.sh builds one and runs it on
// another machine) has no usable source path, and then the root is the
// nearest directory above the working directory whose go.mod declares
// this module. It returns "" when neither finds one.
func RepoRoot() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if isRoot(root) {
			return root
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return rootAbove(wd)
}

// rootAbove is the nearest directory at or above dir that isRoot, or "".
func rootAbove(dir string) string {
	for {
		if isRoot(dir) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// isRoot reports whether dir holds the go.mod of this module.
func isRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	return string(bytes.TrimSpace(first)) == "module "+modulePath
}

// HFDir is the reference checkpoint testdata/hf/qwen2-tiny under the
// repository root.
func HFDir() string {
	return filepath.Join(RepoRoot(), "testdata", "hf", "qwen2-tiny")
}

// RequireHFDir returns HFDir, failing the test when the reference data is
// missing (a partial checkout, or a test binary run outside the
// repository).
func RequireHFDir(t testing.TB) string {
	t.Helper()
	dir := HFDir()
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatalf("reference data missing: it is committed under testdata/hf in the repository; run the test from inside a full checkout: %v", err)
	}
	return dir
}
