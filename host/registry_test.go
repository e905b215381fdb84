package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
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
	k := koanf.New(".")
	require.NoError(t, k.Load(rawbytes.Provider([]byte(`
math:
  wasm: m.wasm
  limits: {memory_mib: 64, timeout: 2s}
  on_failure: {retry: 1, action: drop_group}
typo:
  builtin: boxed
  limitz: {}
`)), yaml.Parser()))
	c, err := host.DecodePluginConfig(k, "math")
	require.NoError(t, err)
	require.Equal(t, host.PluginConfig{Wasm: "m.wasm", Limits: host.Limits{MemoryMiB: 64, Timeout: 2 * time.Second},
		OnFailure: host.FailurePolicy{Retry: 1, Action: host.DropGroup}}, c)
	_, err = host.DecodePluginConfig(k, "typo")
	require.ErrorContains(t, err, "limitz")
}

func TestRegistryBuiltinsAndWasm(t *testing.T) {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{CacheDir: t.TempDir()})
	defer r.Close()
	require.NoError(t, r.Load(ctx, "native", host.PluginConfig{Builtin: "boxed"}))
	require.NoError(t, r.Load(ctx, "wasm", host.PluginConfig{Wasm: "../examples/plugins/boxed-go/boxed.wasm"}))
	require.ErrorContains(t, r.Load(ctx, "native", host.PluginConfig{Builtin: "boxed"}), "already loaded")
	require.ErrorContains(t, r.Load(ctx, "x", host.PluginConfig{Builtin: "nope"}), `no builtin plugin "nope"`)
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
