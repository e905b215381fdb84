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
// least likely sampled token) in Go, C and AssemblyScript (Wasm) and in
// Python (gRPC); surprise-go/cases.jsonl is the table all four must agree
// on, run through the host as `rewind plugin test` runs it.
const surpriseCases = "surprise-go/cases.jsonl"

func TestExampleLocalizersAgree(t *testing.T) {
	cases := plugintest.ReadLocalizerCases(t, surpriseCases)
	impls := map[string]func(t *testing.T) host.PluginConfig{
		"go-wasm":     func(*testing.T) host.PluginConfig { return host.PluginConfig{Wasm: "surprise-go/surprise.wasm"} },
		"c-wasm":      func(*testing.T) host.PluginConfig { return host.PluginConfig{Wasm: "surprise-c/surprise.wasm"} },
		"as-wasm":     func(*testing.T) host.PluginConfig { return host.PluginConfig{Wasm: "surprise-as/surprise.wasm"} },
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

// TestExampleLocalizersAreTheScaffold: surprise-go, surprise-c and
// surprise-as are `rewind plugin new localizer surprise --lang go|c|as` as
// generated (their READMEs and the AssemblyScript lock file aside), so the
// scaffold and the examples cannot drift apart.
func TestExampleLocalizersAreTheScaffold(t *testing.T) {
	for folder, files := range map[string][]string{
		"surprise-go": {"main.go", "cases.jsonl"},
		"surprise-c":  {"main.c", "json.c", "json.h", "build.sh", "manifest.json", "cases.jsonl"},
		"surprise-as": {"assembly/index.ts", "assembly/json.ts", "assembly/buf.ts", "asconfig.json", "embed-manifest.mjs",
			"manifest.json", "package.json", ".gitignore", "cases.jsonl"},
	} {
		lang := folder[len("surprise-"):]
		for _, f := range files {
			tmpl := filepath.Join("..", "..", "cmd", "rewind", "plugintemplates", "localizer", lang, f+".tmpl")
			if f == ".gitignore" {
				tmpl = filepath.Join(filepath.Dir(tmpl), "gitignore.tmpl")
			}
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

// TestExampleLocalizerModulesAreUpToDate rebuilds the C and AssemblyScript
// localizers from a copy of their folders, with each folder's own build
// command, when the toolchain is installed, and checks that the committed
// surprise.wasm is what the source builds to. (surprise-go has its own
// test, fresh_test.go.)
func TestExampleLocalizerModulesAreUpToDate(t *testing.T) {
	t.Run("c", func(t *testing.T) {
		for _, tool := range []string{"clang", "wasm-ld", "llvm-objcopy"} {
			testtool.LookPath(t, "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 llvm", tool)
		}
		testtool.Exists(t, "/usr/lib/wasm32-wasi/libc.a", "apt-get install wasi-libc")
		rebuilt(t, "surprise-c", exec.Command("sh", "build.sh"))
	})
	t.Run("as", func(t *testing.T) {
		modules, err := filepath.Abs("boxed-as/node_modules")
		require.NoError(t, err)
		testtool.Exists(t, filepath.Join(modules, ".bin", "asc"), "npm ci in examples/plugins/boxed-as")
		testtool.LookPath(t, "apt-get install nodejs npm", "npm")
		rebuilt(t, "surprise-as", exec.Command("npm", "run", "build"), func(dir string) {
			require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
		})
	})
}

// rebuilt copies folder's files (not its module) into a temporary folder,
// runs build there and compares the surprise.wasm it makes with the
// committed one.
func rebuilt(t *testing.T, folder string, build *exec.Cmd, prepare ...func(dir string)) {
	dir := t.TempDir()
	require.NoError(t, filepath.WalkDir(folder, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "surprise.wasm" {
			return err
		}
		rel, _ := filepath.Rel(folder, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o755)
	}))
	for _, f := range prepare {
		f(dir)
	}
	build.Dir = dir
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	want, err := os.ReadFile(filepath.Join(folder, "surprise.wasm"))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "surprise.wasm"))
	require.NoError(t, err)
	require.Equal(t, sha256.Sum256(want), sha256.Sum256(got), "%s/surprise.wasm is stale: rebuild it with the command in its README and commit it", folder)
}
