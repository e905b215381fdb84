// Package testref locates the reference data that tests read from outside
// the repository: ../shared/testdata, made by the Hugging Face libraries.
package testref

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the repository root, found from this file's location so that
// it does not depend on the test's working directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedEnv names a folder that replaces ../shared: a test binary built
// here and run on another machine (scripts/gpu.sh) cannot find the
// reference data from its source path.
const SharedEnv = "REWIND_SHARED"

// HFDir is the reference checkpoint ../shared/testdata/hf/qwen2-tiny,
// relative to the repository root, or under $REWIND_SHARED when set.
func HFDir() string {
	shared := filepath.Join(RepoRoot(), "..", "shared")
	if d := os.Getenv(SharedEnv); d != "" {
		shared = d
	}
	return filepath.Join(shared, "testdata", "hf", "qwen2-tiny")
}

// RequireHFDir returns HFDir, failing the test when the reference data is
// not beside the repository.
func RequireHFDir(t testing.TB) string {
	t.Helper()
	dir := HFDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("reference data must sit beside the repository (or under $%s): %v", SharedEnv, err)
	}
	return dir
}
