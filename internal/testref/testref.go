// Package testref locates the reference data that tests read from outside
// the repository: ../shared/testdata, made by the Hugging Face libraries.
package testref

import (
	"path/filepath"
	"runtime"
)

// RepoRoot is the repository root, found from this file's location so that
// it does not depend on the test's working directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// HFDir is the reference checkpoint ../shared/testdata/hf/qwen2-tiny,
// relative to the repository root.
func HFDir() string {
	return filepath.Join(RepoRoot(), "..", "shared", "testdata", "hf", "qwen2-tiny")
}
