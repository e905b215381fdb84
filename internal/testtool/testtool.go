// Package testtool decides what a test does when an external tool it needs
// (a browser, the C-to-Wasm toolchain, node and AssemblyScript, Python's
// gRPC packages, the go command) is missing. On a developer's machine the
// test is skipped, saying what to install. Under CI it fails instead:
// scripts/setup.sh installs every tool there, so a skip would hide a broken
// setup and let the tests that need the tool silently stop running.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run under continuous integration: the CI
// environment variable is set to anything but "", "false" or "0". CI
// services set CI=true, and so does .ci/run.
func CI() bool {
	switch os.Getenv("CI") {
	case "", "false", "0":
		return false
	}
	return true
}

// Missing skips t, or fails it under CI, with the message, which should
// name what is missing and how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=%s and %s; scripts/setup.sh installs it", os.Getenv("CI"), msg)
		return
	}
	t.Skip(msg)
}

// LookPath returns the path of the first of names found on PATH. When none
// is, it calls Missing with install, the command or package that provides
// the tool.
func LookPath(t testing.TB, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "%v not on PATH (install: %s)", names, install)
	return ""
}

// Exists calls Missing unless path exists; install says what provides it.
func Exists(t testing.TB, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s not found (install: %s)", path, install)
	}
}
