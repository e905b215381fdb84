package grpchost

import (
	"bytes"
	"log/slog"
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
