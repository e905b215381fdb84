package cpu

import (
	"os"
	osexec "os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testtool"
	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
)

// TestGonumFallback runs the golden and conformance checks again with the
// pure-Go BLAS forced, in a child process because the BLAS choice is made
// once per process. Plain `go test ./...` thereby covers both paths on a
// machine with OpenBLAS.
func TestGonumFallback(t *testing.T) {
	if os.Getenv(blas.EnvVar) != "" {
		t.Skipf("%s=%s already chooses the implementation", blas.EnvVar, os.Getenv(blas.EnvVar))
	}
	if testing.Short() {
		t.Skip("-short")
	}
	cmd := osexec.Command(os.Args[0], "-test.run", "^(TestGoldenLogits|TestGoldenGradients|TestConformance)$", "-test.count=1")
	cmd.Env = append(os.Environ(), blas.EnvVar+"=gonum")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "with %s=gonum:\n%s", blas.EnvVar, out)
	require.Contains(t, string(out), "PASS")
}

// TestBuildsWithoutCgo checks that the CLI still builds with cgo off (the
// pure-Go BLAS only, no dlopen), as on a machine without a C toolchain.
func TestBuildsWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	gobin := testtool.LookPath(t, "https://go.dev/doc/install", "go")
	cmd := osexec.Command(gobin, "build", "-o", os.DevNull, "github.com/rewind-rl/rewind/cmd/rewind")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "CGO_ENABLED=0 go build ./cmd/rewind:\n%s", out)
}
