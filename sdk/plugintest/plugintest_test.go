package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/boxed"
	"github.com/rewind-rl/rewind/sdk/abi"
)

const (
	casesFile = "../../examples/plugins/cases/boxed.jsonl"
	boxedWasm = "../../examples/plugins/boxed-go/boxed.wasm"
	moodyWasm = "../../host/testdata/hostile/moody.wasm" // rewind_init wants a greeting
	envWasm   = "../../host/testdata/hostile/env.wasm"   // a minimal verifier
)

func TestSharedCasesOnNativeAndWasm(t *testing.T) {
	cases := ReadCases(t, casesFile)
	require.GreaterOrEqual(t, len(cases), 90)
	t.Run("native", func(t *testing.T) { RunVerifierCases(t, boxed.Verifier{}, cases) })
	t.Run("wasm", func(t *testing.T) {
		p := LoadWasm(t, boxedWasm, nil)
		require.Equal(t, abi.KindVerifier, p.Info().Kind)
		require.Len(t, p.Info().SHA256, 64)
		RunVerifierCases(t, p.Verifier(), cases)
	})
}

func score(f float64) *float64 { return &f }

// wrong always answers 0 with status ok, or fails with a PluginError when
// the response says so.
type wrong struct{}

func (wrong) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	if strings.Contains(req.Response, "fail") {
		return abi.Verdict{}, &host.PluginError{Plugin: "wrong", Op: "verify", Status: abi.StatusTimeout, Err: errors.New("slow")}
	}
	return abi.Verdict{Status: abi.StatusOK}, nil
}

func TestCheckReportsDisagreements(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		c    Case
		want string // "" when the case passes
	}{
		{Case{Response: "x", Score: score(0)}, ""},
		{Case{Response: "x", Score: score(1)}, "want score 1, status ok; got score 0, status ok"},
		{Case{Response: "x"}, ""}, // score unchecked
		{Case{Response: "x", Status: abi.StatusInvalid}, "want status invalid; got score 0, status ok"},
		{Case{Response: "fail", Status: abi.StatusTimeout}, ""},
		{Case{Response: "fail"}, "want status ok; got status timeout (plugin \"wrong\" verify: timeout: slow)"},
	}
	for _, tt := range tests {
		got := Check(ctx, wrong{}, &tt.c)
		if tt.want == "" {
			require.Empty(t, got)
		} else {
			require.Contains(t, got, tt.want)
		}
	}
}

func TestParseCases(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.jsonl")
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	cases, err := ParseCases(write("# comment\n\n" +
		`{"name":"a","response":"r","answer":7,"score":1}` + "\n" +
		`{"name":"b","response":"r","task":{"id":"x","answer":"7"},"steps":[{"start":0,"end":1}],"status":"invalid"}` + "\n"))
	require.NoError(t, err)
	require.Len(t, cases, 2)
	require.Equal(t, 3, cases[0].Line)
	require.Equal(t, abi.StatusOK, cases[0].Status)
	require.Equal(t, "line-3", cases[0].Request().Task.ID)
	require.JSONEq(t, "7", string(cases[0].Request().Task.Answer))
	require.Equal(t, "x", cases[1].Request().Task.ID)
	require.Equal(t, []abi.Span{{Start: 0, End: 1}}, cases[1].Request().Steps)

	for in, errHas := range map[string]string{
		`{"name":"a","respons":"r"}`:                        `c.jsonl:1: json: unknown field "respons"`,
		`{"name":"a","response":"r","answer":1,"task":{}}`:  `c.jsonl:1: give either "task" or "answer"`,
		`{"name":"a"} {"name":"b"}`:                         "more than one JSON value",
		"\n# only a comment\n":                              "has no cases",
		`{"name":"a","response":"r","score":"high"}` + "\n": "c.jsonl:1:",
	} {
		_, err := ParseCases(write(in))
		require.ErrorContains(t, err, errHas, in)
	}
}

// TestLoadFailsTheTest checks that a module that does not load fails the
// test (through a recording testing.TB) instead of returning nil.
func TestLoadFailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	func() {
		defer func() { _ = recover() }() // Fatal ends the helper
		LoadWasm(rec, moodyWasm, map[string]any{"greeting": "bye"})
	}()
	require.True(t, rec.failed)
	require.Contains(t, rec.msg, "say hello")

	p := LoadWasm(t, envWasm, nil)
	rec = &recorder{TB: t}
	p.t = rec
	func() {
		defer func() { _ = recover() }()
		p.Segmenter()
	}()
	require.True(t, rec.failed)
	require.Contains(t, rec.msg, "verifier")
}

type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.failed = true
	r.msg = fmtArgs(args)
	panic("fatal")
}

func fmtArgs(args []any) string {
	var b strings.Builder
	for _, a := range args {
		if e, ok := a.(error); ok {
			b.WriteString(e.Error())
		} else if s, ok := a.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// TestBenchCountsFailuresApart: failed calls are counted by status and
// left out of the throughput and latencies (issue 13: plugin bench
// counted them in its throughput).
func TestBenchCountsFailuresApart(t *testing.T) {
	req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Answer: json.RawMessage(`"1"`)}, Response: `\boxed{1}`}
	good := Bench(context.Background(), LoadWasm(t, envWasm, nil).Verifier(), []*abi.VerifyRequest{req}, 2, 100*time.Millisecond)
	require.Positive(t, good.OK)
	require.Equal(t, good.Calls, good.OK)
	require.Zero(t, good.Failed())
	require.Positive(t, good.OKPerSecond)
	require.LessOrEqual(t, good.P50, good.P99)
	require.LessOrEqual(t, good.P99, good.Max)

	bad := Bench(context.Background(), LoadWasm(t, "../../host/testdata/hostile/badjson.wasm", nil).Verifier(), []*abi.VerifyRequest{req}, 2, 100*time.Millisecond)
	require.Positive(t, bad.Calls)
	require.Zero(t, bad.OK)
	require.Zero(t, bad.OKPerSecond)
	require.Equal(t, map[abi.Status]int{abi.StatusMalformed: bad.Calls}, bad.Failures)
}
