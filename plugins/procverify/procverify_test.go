package procverify

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/tasks/taskstest"
)

// wasmPath is the committed Wasm twin.
var wasmPath = filepath.Join("..", "..", "examples", "benchmarks", "verifier", "verifier.wasm")

// shared is one registry for the package's tests: compiling the module
// is the slow part, so it happens once.
var shared struct {
	once         sync.Once
	native, wasm host.Verifier
	err          error
}

// load returns the native builtin and the Wasm module, both through a
// registry, as a run would load them.
func load(t testing.TB) (native, wasm host.Verifier) {
	t.Helper()
	shared.once.Do(func() {
		r := host.NewRegistry(host.Options{})
		ctx := context.Background()
		if shared.err = r.Load(ctx, "native", host.PluginConfig{Builtin: Name}); shared.err != nil {
			return
		}
		if shared.err = r.Load(ctx, "wasm", host.PluginConfig{Wasm: wasmPath}); shared.err != nil {
			return
		}
		if shared.native, shared.err = r.Verifier("native"); shared.err != nil {
			return
		}
		shared.wasm, shared.err = r.Verifier("wasm")
	})
	require.NoError(t, shared.err)
	return shared.native, shared.wasm
}

func TestNativeCaseTable(t *testing.T) {
	taskstest.Run(t, Verifier{}.Verify)
}

func TestRegistryCaseTable(t *testing.T) {
	native, wasm := load(t)
	t.Run("native", func(t *testing.T) { taskstest.Run(t, native.Verify) })
	t.Run("wasm", func(t *testing.T) { taskstest.Run(t, wasm.Verify) })
}

// TestWasmAgreesWithNative compares the two on generated chains of every
// family and difficulty, correct and flawed, field by field.
func TestWasmAgreesWithNative(t *testing.T) {
	native, wasm := load(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	for _, family := range tasks.Families() {
		for d := tasks.MinDifficulty; d <= tasks.MaxDifficulty; d++ {
			ts, err := tasks.Generate(family, 8, 5, d)
			require.NoError(t, err)
			for _, tk := range ts {
				c, err := tasks.Flawed(tk, r, 0.3)
				require.NoError(t, err)
				req := &abi.VerifyRequest{Task: tk, Response: c.Text()}
				a, err := native.Verify(ctx, req)
				require.NoError(t, err)
				b, err := wasm.Verify(ctx, req)
				require.NoError(t, err)
				require.Equal(t, verdictCore(a), verdictCore(b), "%s: %s", tk.Prompt, c.Text())
				require.Equal(t, c.FirstError(), *a.FirstError)
			}
		}
	}
}

// verdictCore drops the fields the host fills in.
func verdictCore(v abi.Verdict) abi.Verdict {
	v.Plugin, v.SHA256 = "", ""
	return v
}

func TestOptionsRefused(t *testing.T) {
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	err := r.Load(context.Background(), "p", host.PluginConfig{Builtin: Name, Options: map[string]any{"x": 1}})
	require.ErrorContains(t, err, "takes no options")
}

// benchRequest is a flawed 3-step chain of the default difficulty.
func benchRequest(b *testing.B) *abi.VerifyRequest {
	ts, err := tasks.Generate("mul", 1, 1, tasks.DefaultDifficulty)
	require.NoError(b, err)
	c, err := tasks.FlawedFirstUniform(ts[0], rand.New(rand.NewPCG(1, 1)), 0)
	require.NoError(b, err)
	return &abi.VerifyRequest{Task: ts[0], Response: c.Text()}
}

// BenchmarkVerify measures one verdict: the pure function, the builtin
// and the Wasm module behind the registry (deadline enforcement on), in
// parallel over GOMAXPROCS goroutines.
func BenchmarkVerify(b *testing.B) {
	req := benchRequest(b)
	native, wasm := load(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		v    host.Verifier
	}{{"pure", Verifier{}}, {"builtin", native}, {"wasm", wasm}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v, err := bc.v.Verify(ctx, req)
					if err != nil || v.Status != abi.StatusOK {
						b.Fatal(err, v.Status)
					}
				}
			})
		})
	}
}
