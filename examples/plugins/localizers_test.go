package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	_ "github.com/rewind-rl/rewind/host/process"
	"github.com/rewind-rl/rewind/internal/testtool"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

// The example localizers implement one strategy (the step holding the
// least likely sampled token) in Go and C (Wasm) and in Python (gRPC);
// surprise-go/cases.jsonl is the table all three must agree on, run
// through the host as `rewind plugin test` runs it.
const surpriseCases = "surprise-go/cases.jsonl"

func TestExampleLocalizersAgree(t *testing.T) {
	cases := plugintest.ReadLocalizerCases(t, surpriseCases)
	impls := map[string]func(t *testing.T) host.PluginConfig{
		"go-wasm":     func(*testing.T) host.PluginConfig { return host.PluginConfig{Wasm: "surprise-go/surprise.wasm"} },
		"c-wasm":      func(*testing.T) host.PluginConfig { return host.PluginConfig{Wasm: "surprise-c/surprise.wasm"} },
		"python-grpc": pythonLocalizer,
	}
	for name, config := range impls {
		t.Run(name, func(t *testing.T) {
			cfg := config(t)
			reg := host.NewRegistry(host.Options{})
			defer reg.Close()
			require.NoError(t, reg.Load(context.Background(), name, cfg))
			l, err := reg.Localizer(name)
			require.NoError(t, err)
			plugintest.RunLocalizerCases(t, l, cases)
		})
	}
}

// pythonLocalizer is the Python example's process config; it skips the
// test (fails it under CI) when /usr/bin/python3 cannot import grpc.
func pythonLocalizer(t *testing.T) host.PluginConfig {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		testtool.Missing(t, "/usr/bin/python3 cannot import grpc and protobuf (install Debian's python3-grpcio python3-protobuf): %v\n%s", err, out)
	}
	script, err := filepath.Abs("python-grpc/surprise_localizer.py")
	require.NoError(t, err)
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return host.PluginConfig{Process: script, SHA256: hex.EncodeToString(sum[:]), DisableAutoMTLS: true}
}

// TestExampleLocalizersAreTheScaffold: surprise-go and surprise-c are
// `rewind plugin new localizer surprise --lang go|c` as generated (their
// READMEs aside), so the scaffold and the examples cannot drift apart.
func TestExampleLocalizersAreTheScaffold(t *testing.T) {
	for folder, files := range map[string][]string{
		"surprise-go": {"main.go", "cases.jsonl"},
		"surprise-c":  {"main.c", "json.c", "json.h", "build.sh", "manifest.json", "cases.jsonl"},
	} {
		lang := folder[len("surprise-"):]
		for _, f := range files {
			tmpl := filepath.Join("..", "..", "cmd", "rewind", "plugintemplates", "localizer", lang, f+".tmpl")
			if f == "cases.jsonl" {
				tmpl = filepath.Join("..", "..", "cmd", "rewind", "plugintemplates", "localizer", f)
			}
			want, err := os.ReadFile(tmpl)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(folder, f))
			require.NoError(t, err)
			require.Equal(t, replaceName(string(want), "surprise"), string(got),
				"%s/%s differs from the scaffold %s: regenerate the example (see its README)", folder, f, tmpl)
		}
	}
}

func replaceName(s, name string) string { return strings.ReplaceAll(s, "__NAME__", name) }
