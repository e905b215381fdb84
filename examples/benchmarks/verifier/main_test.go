package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testtool"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/guest"
	"github.com/rewind-rl/rewind/tasks/taskstest"
)

// TestGuestHandlesTheCaseTable runs the guest natively through the SDK's
// request decoding and verdict encoding, the code path of the Wasm module
// short of the Wasm runtime. The module itself is checked against the
// native twin in plugins/procverify.
func TestGuestHandlesTheCaseTable(t *testing.T) {
	taskstest.Run(t, func(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
		in, err := json.Marshal(req)
		if err != nil {
			return abi.Verdict{}, err
		}
		out := guest.Handle("verify", in)
		var resp struct {
			abi.Verdict
			Error string `json:"error"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return abi.Verdict{}, fmt.Errorf("guest response %q: %w", out, err)
		}
		if resp.Error != "" {
			return abi.Verdict{}, fmt.Errorf("guest error: %s", resp.Error)
		}
		return resp.Verdict, nil
	})
}

// TestCommittedWasmIsCurrent rebuilds the module and compares it with the
// committed verifier.wasm: Go's wasip1 builds with -trimpath are
// byte-for-byte reproducible with one toolchain, so a difference means
// tasks, sdk/abi or sdk/guest changed without a rebuild (or another Go
// version). Skipped with -short; it costs a few seconds of compilation.
func TestCommittedWasmIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the module")
	}
	gobin := testtool.LookPath(t, "https://go.dev/doc/install", "go")
	out := filepath.Join(t.TempDir(), "verifier.wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	committed, err := os.ReadFile("verifier.wasm")
	require.NoError(t, err)
	if !bytes.Equal(got, committed) {
		t.Fatalf("verifier.wasm is stale (%s); rebuild it with\n\tcd examples/benchmarks/verifier && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o verifier.wasm .", runtime.Version())
	}
}
