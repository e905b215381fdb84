package grpchost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/filehash"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// bins holds the plugin executables that TestMain builds: the hostile
// fixture and the Go example, in one `go build` so that the shared packages
// compile once.
var bins struct {
	dir              string
	hostile, example string
	hostileSum       string
	exampleSum       string
	err              error
}

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "grpchost-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.dir = dir
		{
			root := repoRoot()
			cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
				"./host/internal/grpc/testdata/hostile", "./examples/plugins/go-grpc")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building the plugin fixtures: %v\n%s", err, out)
				return 1
			}
			bins.hostile = filepath.Join(dir, "hostile")
			bins.example = filepath.Join(dir, "go-grpc")
			if bins.hostileSum, _, err = filehash.SHA256(bins.hostile); err == nil {
				bins.exampleSum, _, err = filehash.SHA256(bins.example)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// repoRoot is the module root, three levels above this package.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// testLogger logs to the test, so that a failing test shows the plugin's
// stderr and the supervisor's messages.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// hostileConfig is a verifier config for the hostile fixture. starts is its
// HOSTILE_START list; its start counter lives in a fresh temp dir.
func hostileConfig(t testing.TB, starts string) Config {
	return Config{
		Name:         "hostile",
		Kind:         abi.KindVerifier,
		Command:      []string{bins.hostile},
		SHA256:       bins.hostileSum,
		Env:          []string{"HOSTILE_START=" + starts, "HOSTILE_DIR=" + t.TempDir()},
		Timeout:      10 * time.Second, // generous: a call may wait for restarts on a loaded machine
		StartTimeout: 5 * time.Second,
		Restart:      RestartPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, MaxRestarts: 3},
		Logger:       testLogger(t),
	}
}

func mustLoad(t testing.TB, cfg Config) *Plugin {
	t.Helper()
	p, err := Load(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// ask is a request that the fixture and the example grade by exact match.
func ask(response, answer string) *abi.VerifyRequest {
	a, _ := json.Marshal(answer)
	return &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "q", Answer: a}, Response: response}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func errorIs(err, target error) bool { return errors.Is(err, target) }
