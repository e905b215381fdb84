// Package testtool decides what a test does when an external tool it needs
// (a browser, the C-to-Wasm toolchain, node and AssemblyScript, Python's
// gRPC packages, the go command) is missing. On a developer's machine the
// test is skipped, saying what to install. Under CI it fails instead:
// scripts/setup.sh installs every tool there, so a skip would hide a broken
// setup and let the tests that need the tool silently stop running.
package testtool

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// GoWasmUpToDate rebuilds the Go Wasm guest in the test's working
// directory (GOOS=wasip1, -buildmode=c-shared, -trimpath, plus buildFlags)
// and fails unless the committed module is byte-identical, so a committed
// .wasm cannot drift from its source. Go builds are reproducible for one
// toolchain version only: under any other than builtWith the test is
// skipped. generate is the command that rebuilds the module, for the
// failure message.
func GoWasmUpToDate(t testing.TB, module, builtWith, generate string, buildFlags ...string) {
	t.Helper()
	if runtime.Version() != builtWith {
		t.Skipf("%s was built with %s and this is %s: builds are reproducible only for one toolchain version; rebuild it with `%s` and update builtWith", module, builtWith, runtime.Version(), generate)
	}
	// go test puts its own toolchain's bin first on PATH, so this is the
	// go command that built the test.
	goBin := LookPath(t, "https://go.dev/doc/install", "go")
	out := filepath.Join(t.TempDir(), module)
	args := append([]string{"build", "-buildmode=c-shared", "-trimpath"}, buildFlags...)
	cmd := exec.Command(goBin, append(args, "-o", out, ".")...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		Missing(t, "cannot build for GOOS=wasip1 here (%v): %s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("%s is stale: the source builds to sha256 %x, the committed module is %x; run `%s` and commit %s",
			module, sha256.Sum256(fresh), sha256.Sum256(committed), generate, module)
	}
}
