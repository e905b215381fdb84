// Package plugins_test holds the cross-language tests of the example
// plugins: the shared case table cases/boxed.jsonl must give the same
// verdict on the native boxed verifier and on its Go, AssemblyScript and C
// Wasm builds, each loaded through the host as a run's config would.
package plugins_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/internal/testtool"
	_ "github.com/rewind-rl/rewind/plugins/boxed"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

// readCases reads the shared table with plugintest's parser (the format
// of `rewind plugin test`), and checks what this table promises beyond the
// format: every case is named and expects a score and a verdict status.
func readCases(t *testing.T) []plugintest.Case {
	cases := plugintest.ReadCases(t, "cases/boxed.jsonl")
	for _, c := range cases {
		require.NotEmpty(t, c.Name, "cases/boxed.jsonl:%d has no name", c.Line)
		require.NotNil(t, c.Score, "cases/boxed.jsonl:%d has no score", c.Line)
		require.Contains(t, []abi.Status{abi.StatusOK, abi.StatusInvalid, abi.StatusAbstain}, c.Status, "cases/boxed.jsonl:%d", c.Line)
	}
	require.GreaterOrEqual(t, len(cases), 90, "the table lost cases")
	return cases
}

// implementations are the four boxed verifiers, as plugin configs.
var implementations = []struct {
	name string
	cfg  host.PluginConfig
}{
	{"native", host.PluginConfig{Builtin: "boxed"}},
	{"go-wasm", host.PluginConfig{Wasm: "boxed-go/boxed.wasm"}},
	{"as-wasm", host.PluginConfig{Wasm: "boxed-as/boxed-as.wasm"}},
	{"c-wasm", host.PluginConfig{Wasm: "boxed-c/boxed-c.wasm"}},
}

// registry loads the four implementations once for the package's tests
// (compiling the Go module dominates the package's run time), under the
// host's default limits (1 s per call): extraction is linear in every
// implementation, so even the hostile cases answer in well under a
// millisecond.
var registry = sync.OnceValues(func() (*host.Registry, error) {
	reg := host.NewRegistry(host.Options{})
	for _, impl := range implementations {
		if err := reg.Load(context.Background(), impl.name, impl.cfg); err != nil {
			return nil, err
		}
	}
	return reg, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if reg, err := registry(); err == nil {
		_ = reg.Close()
	}
	os.Exit(code)
}

func verifier(t testing.TB, name string) host.Verifier {
	reg, err := registry()
	require.NoError(t, err)
	v, err := reg.Verifier(name)
	require.NoError(t, err)
	return v
}

func TestSharedCasesAgree(t *testing.T) {
	ctx := context.Background()
	cases := readCases(t)
	verdicts := map[string][]abi.Verdict{}
	for _, impl := range implementations {
		v := verifier(t, impl.name)
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range cases {
				got, err := v.Verify(ctx, c.Request())
				require.NoError(t, err, "cases/boxed.jsonl:%d %q", c.Line, c.Name)
				require.Equal(t, c.Status, got.Status, "cases/boxed.jsonl:%d %q: %s", c.Line, c.Name, got.Detail)
				require.Equal(t, *c.Score, got.Score, "cases/boxed.jsonl:%d %q: %s", c.Line, c.Name, got.Detail)
				require.Equal(t, impl.name, got.Plugin)
				require.NotEmpty(t, got.SHA256)
				verdicts[impl.name] = append(verdicts[impl.name], got)
			}
		})
	}
	// The details (the extracted answer) must agree too, not only the scores.
	for _, impl := range implementations[1:] {
		require.Len(t, verdicts[impl.name], len(cases))
		for i, c := range cases {
			require.Equal(t, verdicts["native"][i].Detail, verdicts[impl.name][i].Detail,
				"cases/boxed.jsonl:%d %q: %s and native details differ", c.Line, c.Name, impl.name)
		}
	}
}

// TestGuestsHandleLargeAndHostileResponses: large responses, many
// unclosed boxes (extraction is one linear pass in every implementation;
// it was quadratic, and 2,000 of them ran every Wasm build past its 1 s
// deadline), long numbers and every JSON escape give the same verdict
// everywhere.
func TestGuestsHandleLargeAndHostileResponses(t *testing.T) {
	ctx := context.Background()
	long := bytes.Repeat([]byte("x"), 200_000)
	tests := []struct {
		name, response string
		score          float64
	}{
		{"long response", string(long) + `\boxed{7}`, 1},
		{"many unclosed boxes", string(bytes.Repeat([]byte(`\boxed{`), 20_000)), 0},
		{"many unclosed boxes after the answer", `\boxed{7}` + string(bytes.Repeat([]byte(`\boxed{`), 20_000)), 1},
		{"long number", `\boxed{` + string(bytes.Repeat([]byte("9"), 5000)) + `}`, 0},
		{"control characters and escapes", "\x00\x01\"\\\u2028\\boxed{7}", 1},
	}
	for _, impl := range implementations {
		v := verifier(t, impl.name)
		for _, tt := range tests {
			t.Run(impl.name+"/"+tt.name, func(t *testing.T) {
				got, err := v.Verify(ctx, &abi.VerifyRequest{Task: abi.Task{Answer: json.RawMessage(`"7"`)}, Response: tt.response})
				require.NoError(t, err)
				require.Equal(t, abi.StatusOK, got.Status)
				require.Equal(t, tt.score, got.Score)
			})
		}
	}
}

// TestModulesImportNothing: the AssemblyScript and C modules need no host
// function at all, and carry their manifest in the custom section.
func TestModulesImportNothing(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"boxed-as/boxed-as.wasm", "boxed-c/boxed-c.wasm"} {
		t.Run(path, func(t *testing.T) {
			bin, err := os.ReadFile(path)
			require.NoError(t, err)
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCustomSections(true))
			defer rt.Close(ctx)
			mod, err := rt.CompileModule(ctx, bin)
			require.NoError(t, err)
			require.Empty(t, mod.ImportedFunctions())
			var m abi.Manifest
			found := false
			for _, cs := range mod.CustomSections() {
				if cs.Name() == "rewind.manifest" {
					require.NoError(t, json.Unmarshal(cs.Data(), &m))
					found = true
				}
			}
			require.True(t, found, "no rewind.manifest custom section")
			require.Equal(t, abi.Version, m.ABI)
			require.Equal(t, abi.KindVerifier, m.Kind)
		})
	}
}

// TestCModuleIsUpToDate rebuilds the C module when the toolchain is
// installed and checks that the committed boxed-c.wasm is what the source
// builds to.
func TestCModuleIsUpToDate(t *testing.T) {
	for _, tool := range []string{"clang", "wasm-ld", "llvm-objcopy"} {
		testtool.LookPath(t, "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 llvm", tool)
	}
	testtool.Exists(t, "/usr/lib/wasm32-wasi/libc.a", "apt-get install wasi-libc")
	out := filepath.Join(t.TempDir(), "boxed-c.wasm")
	cmd := exec.Command("sh", "boxed-c/build.sh", out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	want, err := os.ReadFile("boxed-c/boxed-c.wasm")
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(got), "boxed-c/boxed-c.wasm is stale: run boxed-c/build.sh and commit it")
}
