package grpchost

import (
	"context"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/filehash"
	"github.com/rewind-rl/rewind/internal/testtool"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// pythonPlugin loads the Python example through the host, or skips when
// /usr/bin/python3 lacks grpc or protobuf (fails under CI).
func pythonPlugin(t *testing.T) (*Plugin, string) {
	t.Helper()
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		testtool.Missing(t, "/usr/bin/python3 cannot import grpc and protobuf (install Debian's python3-grpcio python3-protobuf): %v\n%s", err, out)
	}
	script := filepath.Join(repoRoot(), "examples", "plugins", "python-grpc", "exact_verifier.py")
	sum, _, err := filehash.SHA256(script)
	require.NoError(t, err)
	p, err := Load(context.Background(), Config{
		Name: "exact-py", Kind: abi.KindVerifier, Command: []string{script}, SHA256: sum,
		DisableMTLS: true, Logger: testLogger(t),
	})
	require.NoError(t, err)
	return p, sum
}

func TestPythonPlugin(t *testing.T) {
	p, sum := pythonPlugin(t)
	defer p.Close()
	require.Equal(t, abi.Manifest{ABI: 1, Kind: abi.KindVerifier, Name: "exact-python", Version: "1.0.0",
		Description: "exact-match verifier over gRPC (example)"}, p.Manifest())
	checkExactVerifier(t, p, "exact-py", sum)
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				v, err := p.Verify(context.Background(), ask("7", "7"))
				assert.NoError(t, err)
				assert.Equal(t, 1.0, v.Score)
			})
		}
		wg.Wait()
	})
}

// TestPythonPluginStopsQuickly: the helper serves go-plugin's controller,
// so Close does not wait out go-plugin's 2 s grace and kill.
func TestPythonPluginStopsQuickly(t *testing.T) {
	p, _ := pythonPlugin(t)
	_, err := p.Verify(context.Background(), ask("1", "1"))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, p.Close())
	require.Less(t, time.Since(start), time.Second, "Close took %v", time.Since(start))
	t.Logf("Close took %v", time.Since(start))
}
