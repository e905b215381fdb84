package all_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/oracle"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func load(t *testing.T, builtin string, opts map[string]any) *host.Registry {
	t.Helper()
	r := host.NewRegistry(host.Options{})
	require.NoError(t, r.Load(context.Background(), "p", host.PluginConfig{Builtin: builtin, Options: opts}))
	return r
}

func TestSegmenters(t *testing.T) {
	tests := []struct {
		builtin string
		opts    map[string]any
		text    string
		want    []abi.Span
	}{
		{"thought", nil, "a</thought> b</thought>", []abi.Span{{Start: 0, End: 11}, {Start: 12, End: 23}}},
		{"thought", nil, "a</thought> tail ", []abi.Span{{Start: 0, End: 11}, {Start: 12, End: 16}}},
		{"thought", nil, "no delimiter", []abi.Span{{Start: 0, End: 12}}},
		{"thought", nil, "  ", []abi.Span{}},
		{"thought", map[string]any{"delimiter": "|"}, "a|b", []abi.Span{{Start: 0, End: 2}, {Start: 2, End: 3}}},
		{"lines", nil, "a\n\n  b  \nc", []abi.Span{{Start: 0, End: 1}, {Start: 5, End: 6}, {Start: 9, End: 10}}},
		{"regex", map[string]any{"pattern": `\n\n`}, "s1\n\ns2", []abi.Span{{Start: 0, End: 4}, {Start: 4, End: 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.builtin+"/"+tt.text, func(t *testing.T) {
			s, err := load(t, tt.builtin, tt.opts).Segmenter("p")
			require.NoError(t, err)
			got, err := s.Segment(context.Background(), &abi.SegmentRequest{Response: tt.text})
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	r := host.NewRegistry(host.Options{})
	require.ErrorContains(t, r.Load(context.Background(), "x", host.PluginConfig{Builtin: "regex"}), "pattern")
}

func TestLocalizers(t *testing.T) {
	ctx := context.Background()
	steps := []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 3}}
	rnd, _ := load(t, "random", nil).Localizer("p")
	seen := map[int]bool{}
	for seed := range uint64(200) {
		l, err := rnd.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Seed: seed})
		require.NoError(t, err)
		again, _ := rnd.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Seed: seed})
		require.Equal(t, l, again, "same seed, same step")
		seen[l.Step] = true
	}
	require.Equal(t, map[int]bool{1: true, 2: true, 3: true}, seen)

	first, _ := load(t, "first", nil).Localizer("p")
	l, err := first.Localize(ctx, &abi.LocalizeRequest{Steps: steps})
	require.NoError(t, err)
	require.Equal(t, 1, l.Step)

	or, _ := load(t, "oracle", nil).Localizer("p")
	two := 2
	l, err = or.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Verdict: &abi.Verdict{FirstError: &two}})
	require.NoError(t, err)
	require.Equal(t, 2, l.Step)
	_, err = or.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Verdict: &abi.Verdict{}})
	require.ErrorIs(t, err, oracle.ErrNoFirstError)
}

// TestProcessSourcesAreLinked: importing plugins/all is enough for a
// `process:` source to reach the gRPC process host (here it fails on the
// missing executable, not on a missing loader).
func TestProcessSourcesAreLinked(t *testing.T) {
	r := host.NewRegistry(host.Options{})
	err := r.Load(context.Background(), "p", host.PluginConfig{Process: "/nonexistent/plugin", Insecure: true})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "not available in this binary")
}

// TestBuiltinVerifiersSetTheirStatus: the registry treats a verdict
// without a status as malformed for builtins too, so every built-in
// verifier must set one explicitly, on every path: odd responses, ground
// truths of every JSON type, none at all.
func TestBuiltinVerifiersSetTheirStatus(t *testing.T) {
	ctx := context.Background()
	answers := []string{"", `"4"`, `4`, `4.5`, `""`, `null`, `true`, `[1]`, `{"a":1}`, `"\\frac{1}{2}"`}
	responses := []string{"", "4", `\boxed{4}`, `\boxed{`, `\boxed{}`, "\xff\xfe", `$\boxed{\frac{1}{2}}$.`}
	n := 0
	for _, b := range host.Builtins() {
		if b.Kind != abi.KindVerifier {
			continue
		}
		n++
		v, err := load(t, b.Name, nil).Verifier("p")
		require.NoError(t, err)
		for _, a := range answers {
			for _, resp := range responses {
				req := &abi.VerifyRequest{Task: abi.Task{ID: "t"}, Response: resp}
				if a != "" {
					req.Task.Answer = []byte(a)
				}
				got, err := v.Verify(ctx, req)
				require.NoError(t, err, "%s: answer %s, response %q", b.Name, a, resp)
				require.Contains(t, []abi.Status{abi.StatusOK, abi.StatusAbstain, abi.StatusInvalid}, got.Status)
			}
		}
	}
	require.GreaterOrEqual(t, n, 2, "boxed and exact at least")
}
