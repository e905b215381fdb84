package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rewind-rl/rewind/internal/testtool"
)

// builtWith is the toolchain that built the committed surprise.wasm. Go builds
// are reproducible for one toolchain version (with -trimpath and an empty
// build id), not across versions.
const builtWith = "go1.26.8"

// TestCommittedModuleIsUpToDate rebuilds surprise.wasm with the command in
// main.go and checks that the committed module is byte-identical, so the
// .wasm cannot drift from its source (this directory, sdk/guest,
// sdk/abi/wire).
func TestCommittedModuleIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module")
	}
	if runtime.Version() != builtWith {
		t.Skipf("surprise.wasm was built with %s and this is %s: builds are reproducible only for one toolchain version; rebuild it with the go:generate command in main.go and update builtWith", builtWith, runtime.Version())
	}
	// go test puts its own toolchain's bin first on PATH, so this is the
	// go command that built the test.
	goBin := testtool.LookPath(t, "https://go.dev/doc/install", "go")
	out := filepath.Join(t.TempDir(), "surprise.wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		testtool.Missing(t, "cannot build for GOOS=wasip1 here (%v): %s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("surprise.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("surprise.wasm is stale: the source builds to sha256 %x, the committed module is %x; run `go generate ./examples/plugins/surprise-go` and commit surprise.wasm",
			sha256.Sum256(fresh), sha256.Sum256(committed))
	}
}
