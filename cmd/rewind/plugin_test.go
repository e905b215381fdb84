package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Paths from this package's directory.
const (
	boxedCases = "../../examples/plugins/cases/boxed.jsonl"
	boxedC     = "../../examples/plugins/boxed-c/boxed-c.wasm"
	boxedAS    = "../../examples/plugins/boxed-as/boxed-as.wasm"
)

// runPlugin runs "rewind plugin ARGS..." in process with fresh flags and
// returns its output and error.
func runPlugin(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newPluginCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	return out.String(), err
}

func TestPluginInspect(t *testing.T) {
	bin, err := os.ReadFile(boxedC)
	require.NoError(t, err)
	sum := sha256.Sum256(bin)

	out, err := runPlugin(t, "inspect", boxedC, "--json")
	require.NoError(t, err, out)
	var info moduleInfo
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	require.Equal(t, hex.EncodeToString(sum[:]), info.SHA256)
	require.Equal(t, "wasm", info.Kind)
	require.Equal(t, "verifier", string(info.Plugin))
	require.Equal(t, 1, info.ABI)
	require.NotNil(t, info.Manifest)
	require.Equal(t, "boxed-c", info.Manifest.Name)
	require.Equal(t, "custom section rewind.manifest", info.ManifestSource)
	require.Equal(t, 16, info.Limits.MemoryMiB, "the manifest asks for 16 MiB")
	require.Equal(t, 1000, info.Limits.TimeoutMillis)
	require.Empty(t, info.Imports)
	require.Contains(t, info.Exports, funcInfo{"rewind_verify", "(i32, i32) -> i64"})
	require.Contains(t, info.Exports, funcInfo{"rewind_abi_version", "() -> i32"})
	require.Empty(t, info.LoadError)

	text, err := runPlugin(t, "inspect", boxedC)
	require.NoError(t, err, text)
	for _, want := range []string{info.SHA256, `kind\s+verifier`, `name\s+boxed-c`, `rewind_verify \(i32, i32\) -> i64`,
		`imports\s+none`, `load\s+ok`, "memory 16 MiB"} {
		require.Regexp(t, want, text)
	}

	builtin, err := runPlugin(t, "inspect", "builtin:boxed")
	require.NoError(t, err, builtin)
	require.Regexp(t, `sha256\s+builtin`, builtin)
}

func TestPluginInspectRefusals(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"other ABI version", "testdata/version2.wasm", "ABI version 2"},
		{"not a module", "testdata/version2.wat", "neither a .wasm module"},
		{"missing file", "testdata/nope.wasm", "no such file"},
		{"unknown builtin", "builtin:nope", `no builtin plugin "nope"`},
		{"not an executable", "no-such-command-xyz", "neither a .wasm module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runPlugin(t, "inspect", tt.path)
			require.Error(t, err, out)
			require.Contains(t, err.Error(), tt.want)
		})
	}
	// A refused module still gets its static facts printed.
	out, _ := runPlugin(t, "inspect", "testdata/version2.wasm")
	require.Contains(t, out, "REFUSED")
	require.Contains(t, out, "rewind_verify (i32, i32) -> i64")
}

func TestPluginTest(t *testing.T) {
	for _, path := range []string{boxedC, boxedAS, "builtin:boxed"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, err := runPlugin(t, "test", path, "--cases", boxedCases)
			require.NoError(t, err, out)
			require.Regexp(t, `(\d+) cases, \d+ passed, 0 disagreed`, out)
		})
	}

	// A verifier that always says 1 disagrees on every case expecting 0
	// or another status; each is reported with its line.
	out, err := runPlugin(t, "test", "testdata/constant.wasm", "--cases", boxedCases)
	require.ErrorIs(t, err, errDisagreements)
	require.Contains(t, out, boxedCases+`:2: "integer wrong": want score 0, status ok; got score 1, status ok`)
	require.Contains(t, out, `"null ground truth": want score 0, status invalid; got score 1, status ok`)
	require.NotContains(t, out, `"integer": want`)
	require.Contains(t, out, " disagreed\n")
}

func TestPluginTestCaseFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	tests := []struct {
		name, content, want string
	}{
		{"unknown key", `{"name":"a","response":"x","answer":"1","scor":1}` + "\n", `:1: json: unknown field "scor"`},
		{"bad json on line 2", `{"name":"a","response":"x","answer":"1"}` + "\n{\n", ":2:"},
		{"task and answer", `{"name":"a","response":"x","answer":"1","task":{"id":"t"}}`, "not both"},
		{"empty", "\n# only a comment\n", "has no cases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "_")+".jsonl", tt.content)
			_, err := runPlugin(t, "test", "builtin:boxed", "--cases", p)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err := runPlugin(t, "test", "builtin:boxed")
	require.ErrorContains(t, err, "--cases")

	// A case may give the whole task and leave the score unchecked.
	p := write("task.jsonl", `{"name":"t","task":{"id":"t","prompt":"p","answer":"3"},"response":"\\boxed{3}","status":"ok"}`+"\n")
	out, err := runPlugin(t, "test", "builtin:boxed", "--cases", p)
	require.NoError(t, err, out)
	require.Contains(t, out, "1 cases, 1 passed, 0 disagreed")
}

func TestPluginBench(t *testing.T) {
	for _, path := range []string{"builtin:boxed", boxedC} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, err := runPlugin(t, "bench", path, "--duration", "200ms", "--concurrency", "2", "--json")
			require.NoError(t, err, out)
			var r benchResult
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			require.Positive(t, r.Calls)
			require.Zero(t, r.Failed())
			require.Equal(t, r.Calls, r.OK)
			require.Equal(t, 2, r.Concurrency)
			require.Equal(t, 300, r.ResponseBytes)
			require.Positive(t, r.OKPerSecond)
			require.LessOrEqual(t, r.P50, r.P90)
			require.LessOrEqual(t, r.P90, r.P99)
			require.LessOrEqual(t, r.P99, r.Max)
		})
	}
	out, err := runPlugin(t, "bench", boxedC, "--duration", "100ms", "--cases", boxedCases)
	require.NoError(t, err, out)
	require.Contains(t, out, "throughput")
	require.Contains(t, out, "p99")

	// Failures are counted by status, never as throughput.
	out, err = runPlugin(t, "bench", "../../host/testdata/hostile/badjson.wasm", "--duration", "100ms", "--concurrency", "1")
	require.NoError(t, err, out)
	require.Contains(t, out, "0 ok")
	require.Regexp(t, `[0-9]+ failed \(malformed [0-9]+\)`, out)
	require.Contains(t, out, "throughput 0 verdicts/s")

	_, err = runPlugin(t, "bench", boxedC, "--concurrency", "0")
	require.ErrorContains(t, err, "must be positive")
}

func TestBenchRequestHasTheAskedLength(t *testing.T) {
	for _, n := range []int{1, 30, 300, 4096} {
		req := benchRequest(n)
		require.Equal(t, max(n, len(` so the answer is \boxed{42}.`)), len(req.Response))
		require.True(t, strings.HasSuffix(req.Response, `\boxed{42}.`))
	}
}

// TestPluginProcess runs the Go gRPC example through inspect, test and
// bench: the CLI computes the executable's sha256, so the host's checksum
// check passes without insecure.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the go-grpc example")
	}
	exe := filepath.Join(t.TempDir(), "exact-grpc")
	build := exec.Command("go", "build", "-o", exe, "../../examples/plugins/go-grpc")
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	sum := sha256.Sum256(bin)

	out, err := runPlugin(t, "inspect", exe, "--json")
	require.NoError(t, err, out)
	var info moduleInfo
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	require.Equal(t, "process", info.Kind)
	require.Equal(t, hex.EncodeToString(sum[:]), info.SHA256)
	require.Equal(t, "verifier", string(info.Plugin))
	require.Equal(t, 10000, info.Limits.TimeoutMillis)

	cases := filepath.Join(t.TempDir(), "exact.jsonl")
	require.NoError(t, os.WriteFile(cases, []byte(
		`{"name":"right","response":" 42. ","answer":"42","score":1}`+"\n"+
			`{"name":"wrong","response":"41","answer":"42","score":1}`+"\n"+
			`{"name":"invalid","response":"41","answer":42,"status":"invalid"}`+"\n"), 0o644))
	out, err = runPlugin(t, "test", exe, "--cases", cases)
	require.ErrorIs(t, err, errDisagreements)
	require.Contains(t, out, `:2: "wrong": want score 1, status ok; got score 0, status ok`)
	require.Contains(t, out, "3 cases, 2 passed, 1 disagreed")

	out, err = runPlugin(t, "bench", exe, "--duration", "200ms", "--cases", cases)
	require.NoError(t, err, out)
	require.Contains(t, out, "0 failed")
}

// TestPluginManifestSet embeds a manifest with rewind alone (issue 13: a
// WAT author had no documented way to), which the host then reads.
func TestPluginManifestSet(t *testing.T) {
	dir := t.TempDir()
	bin, err := os.ReadFile("../../host/testdata/hostile/env.wasm")
	require.NoError(t, err)
	mod := filepath.Join(dir, "env.wasm")
	require.NoError(t, os.WriteFile(mod, bin, 0o644))
	mf := filepath.Join(dir, "m.json")
	require.NoError(t, os.WriteFile(mf, []byte(`{"abi":1,"kind":"verifier","name":"env","version":"2","limits":{"timeout_ms":250}}`), 0o644))

	_, err = runPlugin(t, "manifest", "get", mod)
	require.ErrorContains(t, err, "has no static manifest")
	out, err := runPlugin(t, "manifest", "set", mod, mf)
	require.NoError(t, err, out)
	out, err = runPlugin(t, "manifest", "get", mod)
	require.NoError(t, err, out)
	require.JSONEq(t, `{"abi":1,"kind":"verifier","name":"env","version":"2","limits":{"timeout_ms":250}}`, out)
	out, err = runPlugin(t, "inspect", mod, "--json")
	require.NoError(t, err, out)
	var info moduleInfo
	require.NoError(t, json.Unmarshal([]byte(out), &info))
	require.Equal(t, "custom section rewind.manifest", info.ManifestSource)
	require.Equal(t, 250, info.Limits.TimeoutMillis, "the host applies the embedded manifest")
	require.Empty(t, info.LoadError)

	require.NoError(t, os.WriteFile(mf, []byte(`{"abi":1,"kind":"verifier","name":"a","name":"b"}`), 0o644))
	_, err = runPlugin(t, "manifest", "set", mod, mf, "-o", filepath.Join(dir, "other.wasm"))
	require.ErrorContains(t, err, `duplicate key "name"`)
}

// TestPluginTestHelpCasesPass: the cases file format shown in `rewind
// plugin test --help` parses and passes on the boxed verifier, so the
// documentation cannot drift from the parser.
func TestPluginTestHelpCasesPass(t *testing.T) {
	var lines []string
	for _, l := range strings.Split(newTestCmd(nil).Long, "\n") {
		switch {
		case strings.HasPrefix(l, "  {"):
			lines = append(lines, l[2:])
		case strings.HasPrefix(l, "   \""):
			lines[len(lines)-1] += " " + l[3:]
		}
	}
	require.Len(t, lines, 5, "four verifier cases, then a localizer's")
	p := filepath.Join(t.TempDir(), "help.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines[:4], "\n")+"\n"), 0o644))
	out, err := runPlugin(t, "test", "builtin:boxed", "--cases", p)
	require.NoError(t, err, out)
	require.Contains(t, out, "4 cases, 4 passed, 0 disagreed")

	require.NoError(t, os.WriteFile(p, []byte(lines[4]+"\n"), 0o644))
	out, err = runPlugin(t, "test", "builtin:confidence", "--cases", p)
	require.NoError(t, err, out)
	require.Contains(t, out, "1 cases, 1 passed, 0 disagreed")
}

// TestPluginTestOptions runs a composite built-in with its options from
// the command line: prm with the example reward model procprm resets at
// the first wrong step of examples/plugins/cases/prm-walk.jsonl; bad or
// missing options are errors that name the option.
func TestPluginTestOptions(t *testing.T) {
	cases := filepath.Join("..", "..", "examples", "plugins", "cases", "prm-walk.jsonl")
	out, err := runPlugin(t, "test", "builtin:prm", "--option", "reward_model=procprm", "--option", "threshold=0.5", "--cases", cases)
	require.NoError(t, err, out)
	require.Contains(t, out, "5 cases, 5 passed, 0 disagreed")
	// The reward model may be named as a builtin:NAME source too.
	out, err = runPlugin(t, "test", "builtin:prm", "--option", "reward_model=builtin:procprm", "--cases", cases)
	require.NoError(t, err, out)
	require.Contains(t, out, "5 cases, 5 passed, 0 disagreed")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"required option missing", []string{"builtin:prm"}, "option reward_model: required"},
		{"hint", []string{"builtin:prm"}, "--option KEY=VALUE"},
		{"out of range", []string{"builtin:entropy", "--option", "threshold=-1"}, "option threshold: must be > 0 nats"},
		{"no value", []string{"builtin:prm", "--option", "threshold"}, `--option "threshold": want KEY=VALUE`},
		{"twice", []string{"builtin:prm", "--option", "threshold=1", "--option", "threshold=2"}, "--option threshold is given twice"},
		{"unknown reward model", []string{"builtin:prm", "--option", "reward_model=nope"}, `"nope"`},
		{"a string for a number", []string{"builtin:prm", "--option", "reward_model=procprm", "--option", "threshold=high"}, "threshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPlugin(t, append(append([]string{"test"}, tc.args...), "--cases", cases)...)
			require.Error(t, err, out)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
