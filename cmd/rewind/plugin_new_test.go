package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testtool"
)

func TestPluginNewWritesEachLanguage(t *testing.T) {
	tests := []struct {
		lang  string
		files []string
	}{
		{"go", []string{"README.md", "cases.jsonl", "main.go"}},
		{"c", []string{"README.md", "build.sh", "cases.jsonl", "json.c", "json.h", "main.c", "manifest.json"}},
		{"as", []string{".gitignore", "README.md", "asconfig.json", "assembly/buf.ts", "assembly/index.ts",
			"assembly/json.ts", "cases.jsonl", "embed-manifest.mjs", "manifest.json", "package.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mybench")
			out, err := runPlugin(t, "new", "verifier", "mybench", "--lang", tt.lang, "--dir", dir)
			require.NoError(t, err, out)
			var got []string
			require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					got = append(got, filepath.ToSlash(rel))
					b, err := os.ReadFile(p)
					require.NoError(t, err)
					require.NotContains(t, string(b), "__NAME__", rel)
				}
				return err
			}))
			require.ElementsMatch(t, tt.files, got)
			require.Contains(t, out, "rewind plugin test mybench.wasm --cases cases.jsonl")
		})
	}
}

func TestPluginNewLocalizer(t *testing.T) {
	for lang, files := range map[string][]string{
		"go": {"README.md", "cases.jsonl", "main.go"},
		"c":  {"README.md", "build.sh", "cases.jsonl", "json.c", "json.h", "main.c", "manifest.json"},
		"as": {".gitignore", "README.md", "asconfig.json", "assembly/buf.ts", "assembly/index.ts",
			"assembly/json.ts", "cases.jsonl", "embed-manifest.mjs", "manifest.json", "package.json"},
	} {
		t.Run(lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "myloc")
			out, err := runPlugin(t, "new", "localizer", "myloc", "--lang", lang, "--dir", dir)
			require.NoError(t, err, out)
			var got []string
			require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					got = append(got, filepath.ToSlash(rel))
				}
				return err
			}))
			require.ElementsMatch(t, files, got)
		})
	}
}

func TestPluginNewRefusals(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kind", []string{"new", "tokenizer", "x"}, `no template for kind "tokenizer"`},
		{"unknown lang", []string{"new", "verifier", "x", "--lang", "rust"}, `--lang "rust"`},
		{"bad name", []string{"new", "verifier", "My Bench"}, "plugin name"},
		{"non-empty dir", []string{"new", "verifier", "x", "--dir", full}, "not empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runPlugin(t, tt.args...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestTemplateSharedSourcesMatchTheExamples: the scaffolds carry copies of
// the examples' JSON readers; they must not drift apart.
func TestTemplateSharedSourcesMatchTheExamples(t *testing.T) {
	pairs := map[string]string{
		"plugintemplates/verifier/c/json.c.tmpl":              "../../examples/plugins/boxed-c/json.c",
		"plugintemplates/verifier/c/json.h.tmpl":              "../../examples/plugins/boxed-c/json.h",
		"plugintemplates/verifier/as/assembly/json.ts.tmpl":   "../../examples/plugins/boxed-as/assembly/json.ts",
		"plugintemplates/verifier/as/assembly/buf.ts.tmpl":    "../../examples/plugins/boxed-as/assembly/buf.ts",
		"plugintemplates/verifier/as/embed-manifest.mjs.tmpl": "../../examples/plugins/boxed-as/embed-manifest.mjs",
	}
	for tmpl, example := range pairs {
		a, err := os.ReadFile(tmpl)
		require.NoError(t, err)
		b, err := os.ReadFile(example)
		require.NoError(t, err)
		require.Equal(t, string(b), string(a), "%s differs from %s: copy it over", tmpl, example)
	}
}

// TestScaffoldedCBuildsAndPasses builds the C scaffold with Debian's
// toolchain (skipped when it is not installed, failed under CI) and runs
// its cases.
func TestScaffoldedCBuildsAndPasses(t *testing.T) {
	for _, tool := range []string{"clang", "wasm-ld", "llvm-objcopy"} {
		testtool.LookPath(t, "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 llvm", tool)
	}
	testtool.Exists(t, "/usr/lib/wasm32-wasi/libc.a", "apt-get install wasi-libc")
	for _, kind := range []string{"verifier", "localizer"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cbench")
			_, err := runPlugin(t, "new", kind, "cbench", "--lang", "c", "--dir", dir)
			require.NoError(t, err)
			buildAndTest(t, exec.Command("./build.sh"), dir, "cbench")
		})
	}
}

// buildAndTest runs build in the scaffold dir, then `rewind plugin test`
// on the module NAME.wasm it builds with the scaffold's own cases.
func buildAndTest(t *testing.T, build *exec.Cmd, dir, name string) {
	t.Helper()
	build.Dir = dir
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	out, err := runPlugin(t, "test", filepath.Join(dir, name+".wasm"), "--cases", filepath.Join(dir, "cases.jsonl"))
	require.NoError(t, err, out)
	require.Regexp(t, `(?m)^\d+ cases, \d+ passed, 0 disagreed$`, out)
}

// TestScaffoldedGoBuildsAndPasses builds the Go scaffold for wasip1 inside
// the module (it imports sdk/guest) and runs its cases.
func TestScaffoldedGoBuildsAndPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasip1 module")
	}
	for _, kind := range []string{"verifier", "localizer"} {
		t.Run(kind, func(t *testing.T) {
			dir, err := os.MkdirTemp(".", "scaffold-test-")
			require.NoError(t, err)
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			dir = filepath.Join(dir, "gobench")
			_, err = runPlugin(t, "new", kind, "gobench", "--lang", "go", "--dir", dir)
			require.NoError(t, err)
			build := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", "gobench.wasm", ".")
			build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			buildAndTest(t, build, dir, "gobench")
		})
	}
}

// TestScaffoldedASBuildsAndPasses builds the AssemblyScript scaffold with
// the compiler installed for examples/plugins/boxed-as (skipped when
// "npm ci" has not been run there, failed under CI).
func TestScaffoldedASBuildsAndPasses(t *testing.T) {
	modules, err := filepath.Abs("../../examples/plugins/boxed-as/node_modules")
	require.NoError(t, err)
	testtool.Exists(t, filepath.Join(modules, ".bin", "asc"), "npm ci in examples/plugins/boxed-as")
	testtool.LookPath(t, "apt-get install nodejs npm", "node")
	testtool.LookPath(t, "apt-get install npm", "npm")
	for _, kind := range []string{"verifier", "localizer"} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "asbench")
			_, err := runPlugin(t, "new", kind, "asbench", "--lang", "as", "--dir", dir)
			require.NoError(t, err)
			require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
			buildAndTest(t, exec.Command("npm", "run", "build"), dir, "asbench")
		})
	}
}
