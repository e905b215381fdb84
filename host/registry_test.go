package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	_ "github.com/rewind-rl/rewind/plugins/all"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestPluginConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  host.PluginConfig
		errs []string
	}{
		{"builtin ok", host.PluginConfig{Builtin: "boxed"}, nil},
		{"no source", host.PluginConfig{}, []string{"exactly one of builtin, wasm and process"}},
		{"two sources", host.PluginConfig{Builtin: "a", Wasm: "b"}, []string{"(got 2)"}},
		{"process without checksum", host.PluginConfig{Process: "./p"}, []string{"sha256: a process plugin needs"}},
		{"process insecure", host.PluginConfig{Process: "./p", Insecure: true}, nil},
		{"many errors at once", host.PluginConfig{Wasm: "x.wasm", Args: []string{"a"},
			Limits:    host.Limits{MemoryMiB: -1, Timeout: -time.Second},
			OnFailure: host.FailurePolicy{Retry: 99, Action: "shrug"}},
			[]string{"args:", "limits.memory_mib", "limits.timeout", "on_failure.retry", "on_failure.action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.errs == nil {
				require.NoError(t, err)
				return
			}
			for _, e := range tt.errs {
				require.ErrorContains(t, err, e)
			}
		})
	}
}

func TestDecodePluginConfigStrict(t *testing.T) {
	// Sections as the YAML parser of a run's config returns them.
	parse := func(t *testing.T, doc string) map[string]any {
		m, err := yaml.Parser().Unmarshal([]byte(doc))
		require.NoError(t, err)
		return m
	}
	tests := []struct {
		name string
		doc  string
		want host.PluginConfig
		errs []string // each must appear in the error; nil: no error
	}{
		{name: "full", doc: `
wasm: m.wasm
options: {lang: en}
limits: {memory_mib: 64, timeout: 2s, max_output_kib: 8.0}
on_failure: {retry: 1, action: drop_group}`,
			want: host.PluginConfig{Wasm: "m.wasm", Options: map[string]any{"lang": "en"},
				Limits:    host.Limits{MemoryMiB: 64, Timeout: 2 * time.Second, MaxOutputKiB: 8},
				OnFailure: host.FailurePolicy{Retry: 1, Action: host.DropGroup}}},
		{name: "unknown key", doc: "builtin: boxed\nlimitz: {}", errs: []string{"plugin config plugins.x: unknown keys limitz (valid: builtin, wasm, process,"}},
		{name: "unknown nested key", doc: "builtin: boxed\nlimits: {memroy_mib: 1}", errs: []string{"plugins.x: limits: unknown keys memroy_mib (valid: memory_mib, timeout,"}},
		{name: "duration without unit", doc: "builtin: boxed\nlimits: {timeout: 2}", errs: []string{"timeout", `has no unit: write it as a string such as "2s"`}},
		{name: "fractional integer", doc: "builtin: boxed\nlimits: {memory_mib: 64.5}", errs: []string{"memory_mib", "64.5 is not a whole number"}},
		{name: "wrong type", doc: "builtin: boxed\non_failure: {retry: once}", errs: []string{"retry"}},
		{name: "bad duration", doc: "builtin: boxed\nlimits: {timeout: soon}", errs: []string{"timeout", "soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			section := parse(t, tt.doc)
			before := fmt.Sprint(section)
			c, err := host.DecodePluginConfig(section, "plugins.x")
			require.Equal(t, before, fmt.Sprint(section), "the section must not be modified")
			if tt.errs == nil {
				require.NoError(t, err)
				require.Equal(t, tt.want, c)
				return
			}
			for _, e := range tt.errs {
				require.ErrorContains(t, err, e)
			}
			require.Equal(t, host.PluginConfig{}, c, "a failed decode returns the zero config")
		})
	}
}

func TestRegistryBuiltinsAndWasm(t *testing.T) {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{CacheDir: t.TempDir()})
	defer r.Close()
	require.NoError(t, r.Load(ctx, "native", host.PluginConfig{Builtin: "boxed"}))
	require.NoError(t, r.Load(ctx, "wasm", host.PluginConfig{Wasm: "../examples/plugins/boxed-go/boxed.wasm"}))
	require.ErrorContains(t, r.Load(ctx, "native", host.PluginConfig{Builtin: "boxed"}), "already loaded")
	require.ErrorContains(t, r.Load(ctx, "x", host.PluginConfig{Builtin: "nope"}), `no builtin plugin "nope"`)
	require.ErrorContains(t, r.Load(ctx, "x", host.PluginConfig{Builtin: "boxed", Options: map[string]any{"b": 1, "a": 2}}),
		`builtin "boxed": takes no options, got [a b]`)
	// plugins/all links the process host: the load reaches it and fails on the missing executable.
	require.ErrorContains(t, r.Load(ctx, "p", host.PluginConfig{Process: "./p", Insecure: true}), "no such file")
	require.Equal(t, []string{"native", "wasm"}, r.Names())

	req := &abi.VerifyRequest{Task: abi.Task{Answer: json.RawMessage(`"1/2"`)}, Response: `\boxed{0.5}`}
	for _, name := range []string{"native", "wasm"} {
		v, err := r.Verifier(name)
		require.NoError(t, err)
		got, err := v.Verify(ctx, req)
		require.NoError(t, err)
		require.Equal(t, 1.0, got.Score)
		require.Equal(t, name, got.Plugin)
		require.NotEmpty(t, got.SHA256)
	}
	_, err := r.Segmenter("native")
	require.ErrorContains(t, err, "is a verifier, not a segmenter")
	require.Equal(t, []host.Counter{
		{Plugin: "native", Op: "verify", Status: abi.StatusOK, Count: 1},
		{Plugin: "wasm", Op: "verify", Status: abi.StatusOK, Count: 1},
	}, r.Counters())
}

// flaky fails its first n calls with a trap, then succeeds.
type flaky struct{ n int }

func (f *flaky) Verify(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
	if f.n > 0 {
		f.n--
		return abi.Verdict{}, &host.PluginError{Status: abi.StatusTrap, Err: errors.New("boom")}
	}
	return abi.Verdict{Score: 1, Status: abi.StatusOK}, nil
}

func TestFailurePolicyRetriesAndCounts(t *testing.T) {
	f := &flaky{}
	host.RegisterBuiltin(abi.KindVerifier, "test-flaky", func(map[string]any) (any, error) { return f, nil })
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	require.NoError(t, r.Load(ctx, "f", host.PluginConfig{Builtin: "test-flaky", OnFailure: host.FailurePolicy{Retry: 2}}))
	v, _ := r.Verifier("f")

	f.n = 2 // two failures, then success within the retry budget
	got, err := v.Verify(ctx, &abi.VerifyRequest{})
	require.NoError(t, err)
	require.Equal(t, 1.0, got.Score)
	require.Equal(t, "builtin", got.SHA256)

	f.n = 5 // more failures than retries: a typed error, never a score
	_, err = v.Verify(ctx, &abi.VerifyRequest{})
	require.ErrorIs(t, err, host.ErrTrap)
	var pe *host.PluginError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "f", pe.Plugin)
	require.Equal(t, "verify", pe.Op)
	require.Equal(t, []host.Counter{
		{Plugin: "f", Op: "verify", Status: abi.StatusOK, Count: 1},
		{Plugin: "f", Op: "verify", Status: abi.StatusTrap, Count: 5},
	}, r.Counters())
}

func TestBuiltinDuplicatePanics(t *testing.T) {
	require.Panics(t, func() {
		host.RegisterBuiltin(abi.KindVerifier, "boxed", func(map[string]any) (any, error) { return nil, nil })
	})
}

// Load plugins from config, call one through the failure policy and read
// the counters for metrics.
func ExampleRegistry() {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "math", host.PluginConfig{Builtin: "boxed"}); err != nil {
		panic(err)
	}
	v, _ := r.Verifier("math")
	verdict, err := v.Verify(ctx, &abi.VerifyRequest{
		Task:     abi.Task{ID: "1", Answer: json.RawMessage(`"1000"`)},
		Response: `The total is \boxed{1,000}.`,
	})
	fmt.Println(verdict.Score, verdict.Status, verdict.Plugin, err)
	for _, c := range r.Counters() {
		fmt.Println(c.Plugin, c.Op, c.Status, c.Count)
	}
	// Output:
	// 1 ok math <nil>
	// math verify ok 1
}

// canned is a builtin of every kind that returns the result it is given.
type canned struct {
	verdict abi.Verdict
	scores  []float64
	spans   []abi.Span
	loc     abi.Localization
}

func (c *canned) Verify(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
	return c.verdict, nil
}
func (c *canned) Score(context.Context, []abi.ScoreRequest) ([]float64, error) { return c.scores, nil }
func (c *canned) Segment(context.Context, *abi.SegmentRequest) ([]abi.Span, error) {
	return c.spans, nil
}
func (c *canned) Localize(context.Context, *abi.LocalizeRequest) (abi.Localization, error) {
	return c.loc, nil
}

// TestResultContractForEverySource: the registry checks every result
// against the contract, whatever the source: a builtin's broken result
// fails as malformed (and is retried by the policy) exactly like a Wasm
// module's, an empty verdict status included.
func TestResultContractForEverySource(t *testing.T) {
	ctx := context.Background()
	c := &canned{}
	for _, k := range []abi.Kind{abi.KindVerifier, abi.KindRewardModel, abi.KindSegmenter, abi.KindLocalizer} {
		host.RegisterBuiltin(k, "test-canned-"+string(k), func(map[string]any) (any, error) { return c, nil })
	}
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	for _, k := range []abi.Kind{abi.KindVerifier, abi.KindRewardModel, abi.KindSegmenter, abi.KindLocalizer} {
		require.NoError(t, r.Load(ctx, string(k), host.PluginConfig{Builtin: "test-canned-" + string(k), OnFailure: host.FailurePolicy{Retry: 1}}))
	}
	v, _ := r.Verifier("verifier")
	m, _ := r.RewardModel("reward_model")
	s, _ := r.Segmenter("segmenter")
	l, _ := r.Localizer("localizer")
	two := []abi.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}

	c.verdict = abi.Verdict{Score: 1} // no status
	_, err := v.Verify(ctx, &abi.VerifyRequest{Response: "abcd"})
	require.ErrorIs(t, err, host.ErrMalformed)
	require.ErrorContains(t, err, "no status")
	c.verdict = abi.Verdict{Score: 1, Status: abi.StatusOK, StepCorrect: []bool{true}}
	_, err = v.Verify(ctx, &abi.VerifyRequest{Response: "abcd", Steps: two})
	require.ErrorIs(t, err, host.ErrMalformed)
	c.verdict = abi.Verdict{Score: 1, Status: abi.StatusOK, StepCorrect: []bool{true, true}, SHA256: "forged", Plugin: "forged"}
	got, err := v.Verify(ctx, &abi.VerifyRequest{Response: "abcd", Steps: two})
	require.NoError(t, err)
	require.Equal(t, "builtin", got.SHA256, "the host stamps verdicts, not the plugin")
	require.Equal(t, "verifier", got.Plugin)

	c.scores = []float64{1, math.NaN()}
	_, err = m.Score(ctx, make([]abi.ScoreRequest, 2))
	require.ErrorIs(t, err, host.ErrMalformed)
	c.spans = []abi.Span{{Start: 1, End: 1}}
	_, err = s.Segment(ctx, &abi.SegmentRequest{Response: "abcd"})
	require.ErrorIs(t, err, host.ErrMalformed)
	c.loc = abi.Localization{Step: 3}
	_, err = l.Localize(ctx, &abi.LocalizeRequest{Steps: two})
	require.ErrorIs(t, err, host.ErrMalformed)

	// Each malformed result was retried once (on_failure.retry: 1).
	require.Equal(t, []host.Counter{
		{Plugin: "localizer", Op: "localize", Status: abi.StatusMalformed, Count: 2},
		{Plugin: "reward_model", Op: "score", Status: abi.StatusMalformed, Count: 2},
		{Plugin: "segmenter", Op: "segment", Status: abi.StatusMalformed, Count: 2},
		{Plugin: "verifier", Op: "verify", Status: abi.StatusMalformed, Count: 4},
		{Plugin: "verifier", Op: "verify", Status: abi.StatusOK, Count: 1},
	}, r.Counters())

	// The same rule for a Wasm module: moody answers {"score":1} to NOSTATUS.
	require.NoError(t, r.Load(ctx, "moody", host.PluginConfig{Wasm: "testdata/hostile/moody.wasm",
		Options: map[string]any{"greeting": "hello"}}))
	mv, _ := r.Verifier("moody")
	_, err = mv.Verify(ctx, &abi.VerifyRequest{Response: "NOSTATUS"})
	require.ErrorIs(t, err, host.ErrMalformed)
	require.ErrorContains(t, err, "no status")
	got, err = mv.Verify(ctx, &abi.VerifyRequest{Response: "fine"})
	require.NoError(t, err)
	require.Equal(t, abi.StatusOK, got.Status)
	p, _ := r.Plugin("moody")
	require.Equal(t, p.SHA256, got.SHA256)
	require.Len(t, got.SHA256, 64)
}
