package grpchost

import (
	"bytes"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestConfigValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := Config{Name: "p", Kind: abi.KindVerifier, Command: []string{"/bin/p"}, SHA256: sum}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string // "" means valid
	}{
		{"good", func(*Config) {}, ""},
		{"kind from manifest", func(c *Config) { c.Kind = "" }, ""},
		{"insecure", func(c *Config) { c.SHA256, c.Insecure = "", true }, ""},
		{"no checksum", func(c *Config) { c.SHA256 = "" }, "set insecure: true"},
		{"checksum and insecure", func(c *Config) { c.Insecure = true }, "drop one of them"},
		{"short checksum", func(c *Config) { c.SHA256 = "abc" }, "not 64 hex digits"},
		{"no command", func(c *Config) { c.Command = nil }, "must name an executable"},
		{"bad kind", func(c *Config) { c.Kind = "judge" }, `"judge" is not one of`},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout: must not be negative"},
		{"backoffs inverted", func(c *Config) { c.Restart = RestartPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second} }, "above the max backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, `process plugin "p"`)
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		err := (&Config{Kind: "x"}).Validate()
		for _, want := range []string{"name: must be set", "kind:", "process:", "sha256:"} {
			require.ErrorContains(t, err, want)
		}
		require.ErrorIs(t, err, ErrNoChecksum)
	})
}

func TestContractChecks(t *testing.T) {
	one, three, neg := 1, 3, -1
	steps := &abi.VerifyRequest{Response: "abcd", Steps: []abi.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"verdict ok", checkVerdict(&abi.Verdict{Status: abi.StatusOK, Score: 1, StepCorrect: []bool{true, false}, FirstError: &one}, steps), ""},
		{"verdict abstain", checkVerdict(&abi.Verdict{Status: abi.StatusAbstain}, steps), ""},
		{"verdict host status", checkVerdict(&abi.Verdict{Status: abi.StatusCrash}, steps), "not one of ok"},
		{"verdict empty status", checkVerdict(&abi.Verdict{}, steps), "not one of ok"},
		{"verdict score high", checkVerdict(&abi.Verdict{Status: abi.StatusOK, Score: 1.5}, steps), "outside [0, 1]"},
		{"verdict score NaN", checkVerdict(&abi.Verdict{Status: abi.StatusOK, Score: math.NaN()}, steps), "outside [0, 1]"},
		{"verdict step_correct length", checkVerdict(&abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{true}}, steps), "1 entries for 2 steps"},
		{"verdict first_error past steps", checkVerdict(&abi.Verdict{Status: abi.StatusOK, FirstError: &three}, steps), "outside 0..2"},
		{"verdict first_error negative", checkVerdict(&abi.Verdict{Status: abi.StatusOK, FirstError: &neg}, steps), "outside 0..2"},
		{"scores ok", checkScores([]float64{-3, 7}, 2), ""},
		{"scores count", checkScores([]float64{1}, 2), "1 scores for 2 requests"},
		{"scores inf", checkScores([]float64{math.Inf(1)}, 1), "is +Inf"},
		{"spans ok", checkSpans([]abi.Span{{Start: 0, End: 1}, {Start: 2, End: 4}}, "abcd"), ""},
		{"spans none", checkSpans(nil, ""), ""},
		{"spans overlap", checkSpans([]abi.Span{{Start: 0, End: 2}, {Start: 1, End: 4}}, "abcd"), "span 1"},
		{"spans empty", checkSpans([]abi.Span{{Start: 1, End: 1}}, "abcd"), "span 0"},
		{"spans past end", checkSpans([]abi.Span{{Start: 0, End: 5}}, "abcd"), "span 0"},
		{"localization ok", checkLocalization(&abi.Localization{Step: 2, Confidence: 0.5}, &abi.LocalizeRequest{Steps: steps.Steps}), ""},
		{"localization none found", checkLocalization(&abi.Localization{Step: 0}, &abi.LocalizeRequest{Steps: steps.Steps}), ""},
		{"localization past steps", checkLocalization(&abi.Localization{Step: 3}, &abi.LocalizeRequest{Steps: steps.Steps}), "outside 0..2"},
		{"localization confidence", checkLocalization(&abi.Localization{Step: 1, Confidence: 2}, &abi.LocalizeRequest{Steps: steps.Steps}), "confidence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				require.NoError(t, tc.err)
			} else {
				require.ErrorContains(t, tc.err, tc.want)
			}
		})
	}
}

func TestLineLogger(t *testing.T) {
	var buf bytes.Buffer
	w := newLineLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "stderr")
	for _, chunk := range []string{"plain li", "ne\n{\"@level\":\"warn\",\"@message\":\"careful\",\"b\":2,\"a\":1}\n", "\n", "tail"} {
		_, err := w.Write([]byte(chunk))
		require.NoError(t, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "the empty line is dropped and the unterminated tail is held back: %q", buf.String())
	require.Contains(t, lines[0], `level=INFO msg="plain line" stream=stderr`)
	require.Contains(t, lines[1], `level=WARN msg=careful stream=stderr a=1 b=2`)
}

func TestHCLogAdapterQuietByDefault(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	quiet := newHCLog(l, hclog.NoLevel)
	quiet.Error("not shown")
	require.False(t, quiet.IsError())
	require.Empty(t, buf.String())

	loud := newHCLog(l, hclog.Warn).Named("client").With("k", "v")
	loud.Info("not shown")
	loud.Warn("shown", "x", 1)
	require.Equal(t, 1, strings.Count(buf.String(), "\n"))
	require.Contains(t, buf.String(), `level=WARN msg=shown component=go-plugin.client k=v x=1`)
}
