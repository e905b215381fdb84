package grpchost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestExampleVerifier(t *testing.T) {
	p := mustLoad(t, Config{Name: "exact", Kind: abi.KindVerifier, Command: []string{bins.example}, SHA256: bins.exampleSum, Logger: testLogger(t)})
	require.Equal(t, "exact-grpc", p.Manifest().Name)
	require.Equal(t, abi.KindVerifier, p.Manifest().Kind)
	require.Equal(t, abi.Version, p.Manifest().ABI)
	checkExactVerifier(t, p, "exact", bins.exampleSum)
	t.Run("other kinds refused", func(t *testing.T) {
		_, err := p.Segment(context.Background(), &abi.SegmentRequest{Response: "x"})
		require.ErrorIs(t, err, host.ErrPlugin)
	})
}

// checkExactVerifier grades the cases that the Go and the Python example
// plugins (the same exact-match verifier) must agree on.
func checkExactVerifier(t *testing.T, p *Plugin, name, sum string) {
	for _, tc := range []struct {
		name, response string
		answer         []byte
		want           abi.Verdict
	}{
		{"right", " 42. ", []byte(`"42"`), abi.Verdict{Status: abi.StatusOK, Score: 1, Detail: "42"}},
		{"wrong", "41", []byte(`"42"`), abi.Verdict{Status: abi.StatusOK, Score: 0, Detail: "41"}},
		{"bad answer", "41", []byte(`42`), abi.Verdict{Status: abi.StatusInvalid, Detail: "the task's answer is not a JSON string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := p.Verify(context.Background(), &abi.VerifyRequest{Task: abi.Task{ID: "1", Answer: tc.answer}, Response: tc.response})
			require.NoError(t, err)
			tc.want.Plugin, tc.want.SHA256 = name, sum
			require.Equal(t, tc.want, v)
		})
	}
}

// TestThroughRegistry loads the fixture as a `process:` source of a
// host.Registry, the way the trainer does: results that break the result
// contract (checked by the registry for every transport) fail as
// malformed, the next call succeeds on the same process, and every verdict
// carries the sha256 of the executable computed at start, with a checksum
// in the config or insecure.
func TestThroughRegistry(t *testing.T) {
	ctx := context.Background()
	for _, insecure := range []bool{false, true} {
		t.Run(fmt.Sprintf("insecure=%v", insecure), func(t *testing.T) {
			cfg := host.PluginConfig{Process: bins.hostile, Insecure: insecure}
			if !insecure {
				cfg.SHA256 = bins.hostileSum
			}
			r := host.NewRegistry(host.Options{})
			require.NoError(t, r.Load(ctx, "hostile", cfg))
			t.Cleanup(func() { _ = r.Close() })
			p, err := r.Plugin("hostile")
			require.NoError(t, err)
			require.Equal(t, bins.hostileSum, p.SHA256)
			v, err := r.Verifier("hostile")
			require.NoError(t, err)
			for _, bad := range []string{"score:2", "score:-0.5", "score:NaN", "nostatus", "first_error:-1", "first_error:3"} {
				req := ask(bad, "4")
				req.Steps = []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}}
				_, err := v.Verify(ctx, req)
				require.ErrorIs(t, err, host.ErrMalformed, bad)
				got, err := v.Verify(ctx, ask("4", "4"))
				require.NoError(t, err, "the call after %s", bad)
				require.Equal(t, abi.Verdict{Score: 1, Status: abi.StatusOK, Plugin: "hostile", SHA256: bins.hostileSum}, got)
			}
		})
	}
}

// TestManifestLimits: a process plugin's manifest may ask for a shorter
// timeout than the host's default, which then bounds its calls; it may not
// grant itself a longer one, unless the config does.
func TestManifestLimits(t *testing.T) {
	ctx := context.Background()
	load := func(opts map[string]any, lim host.Limits) (*host.Registry, error) {
		r := host.NewRegistry(host.Options{})
		t.Cleanup(func() { _ = r.Close() })
		return r, r.Load(ctx, "hostile", host.PluginConfig{Process: bins.hostile, SHA256: bins.hostileSum, Options: opts, Limits: lim})
	}
	r, err := load(map[string]any{"manifest_timeout_ms": 200}, host.Limits{})
	require.NoError(t, err)
	p, _ := r.Plugin("hostile")
	require.Equal(t, 200*time.Millisecond, p.Limits.Timeout)
	require.Equal(t, host.DefaultMaxOutputKiB, p.Limits.MaxOutputKiB)
	v, _ := r.Verifier("hostile")
	start := time.Now()
	_, err = v.Verify(ctx, ask("hang", ""))
	require.ErrorIs(t, err, host.ErrTimeout)
	require.Less(t, time.Since(start), 200*time.Millisecond+500*time.Millisecond)

	_, err = load(map[string]any{"manifest_timeout_ms": 60000}, host.Limits{})
	require.ErrorContains(t, err, "a plugin cannot raise its own limits; grant it in the plugin's config (limits: {timeout: 1m0s})")

	r, err = load(map[string]any{"manifest_timeout_ms": 60000}, host.Limits{Timeout: time.Minute})
	require.NoError(t, err)
	p, _ = r.Plugin("hostile")
	require.Equal(t, time.Minute, p.Limits.Timeout, "the config grants it")
}

// pid asks the fixture for its process id, which tells generations apart.
func pid(t *testing.T, p *Plugin) int {
	t.Helper()
	v, err := p.Verify(context.Background(), ask("pid", ""))
	require.NoError(t, err)
	n, err := strconv.Atoi(v.Detail)
	require.NoError(t, err)
	return n
}

// TestHostileCalls: each misbehaviour during a call gives its typed error
// within the deadline plus a margin, and the next call on the same plugin
// succeeds (after a restart where the process died).
func TestHostileCalls(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const margin = 250 * time.Millisecond
	cfg := hostileConfig(t, "ok")
	cfg.MaxOutputBytes = 64 << 10
	p := mustLoad(t, cfg)
	for _, tc := range []struct {
		response  string
		want      error
		status    abi.Status
		restarted bool
		within    time.Duration
	}{
		{"crash", host.ErrCrash, abi.StatusCrash, true, margin},
		{"hang", host.ErrTimeout, abi.StatusTimeout, false, timeout + margin},
		{"block", host.ErrTimeout, abi.StatusTimeout, false, timeout + margin},
		{"error", host.ErrPlugin, abi.StatusError, false, margin},
		{"panic", host.ErrPlugin, abi.StatusError, false, margin},
		{"big:100000", host.ErrOversized, abi.StatusOversized, false, margin},
	} {
		t.Run(tc.response, func(t *testing.T) {
			before := pid(t, p)
			// The caller's deadline bounds the hostile call; the next call
			// has the plugin's generous timeout, room for a restart.
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			_, err := p.Verify(ctx, ask(tc.response, "4"))
			elapsed := time.Since(start)
			require.ErrorIs(t, err, tc.want)
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tc.status, pe.Status)
			require.Equal(t, "hostile", pe.Plugin)
			require.Equal(t, "verify", pe.Op)
			require.Less(t, elapsed, tc.within, "error came after %v", elapsed)

			v, err := p.Verify(context.Background(), ask("4", "4"))
			require.NoError(t, err, "the next call must succeed")
			require.Equal(t, 1.0, v.Score)
			if tc.restarted {
				require.NotEqual(t, before, pid(t, p), "the process must have been restarted")
			} else {
				require.Equal(t, before, pid(t, p), "the process must not have been restarted")
			}
		})
	}
	require.Equal(t, int64(1), p.Stats().Restarts)
}

// TestCrashFailsInFlightCalls: calls in flight when the process dies fail at
// once with a crash, not at their deadline.
func TestCrashFailsInFlightCalls(t *testing.T) {
	cfg := hostileConfig(t, "ok")
	cfg.Timeout = 5 * time.Second
	p := mustLoad(t, cfg)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := p.Verify(context.Background(), ask("block", ""))
			errs <- err
		}()
	}
	// Returns once all n calls are waiting inside the plugin.
	v, err := p.Verify(context.Background(), ask("blocked:"+strconv.Itoa(n), ""))
	require.NoError(t, err, "the blocking calls never all reached the plugin")
	require.Equal(t, 1.0, v.Score)
	start := time.Now()
	_, err = p.Verify(context.Background(), ask("crash", ""))
	require.ErrorIs(t, err, host.ErrCrash)
	for range n {
		require.ErrorIs(t, <-errs, host.ErrCrash)
	}
	require.Less(t, time.Since(start), time.Second)
	v, err = p.Verify(context.Background(), ask("4", "4"))
	require.NoError(t, err)
	require.Equal(t, 1.0, v.Score)
}

// TestHostileStarts: a restart that exits at start, prints garbage instead
// of the handshake, or never handshakes is itself restarted, and the call
// waiting on it succeeds once a start works.
func TestHostileStarts(t *testing.T) {
	for _, mode := range []string{"exit", "garbage", "silent"} {
		t.Run(mode, func(t *testing.T) {
			cfg := hostileConfig(t, "ok,"+mode+",ok")
			cfg.StartTimeout = 2 * time.Second
			p := mustLoad(t, cfg)
			_, err := p.Verify(context.Background(), ask("crash", ""))
			require.ErrorIs(t, err, host.ErrCrash)
			v, err := p.Verify(context.Background(), ask("4", "4"))
			require.NoError(t, err)
			require.Equal(t, 1.0, v.Score)
			st := p.Stats()
			require.Equal(t, "up", st.State)
			require.Equal(t, int64(2), st.Restarts)
			require.Equal(t, 3, st.Generation)
		})
	}
}

// TestLoadFailures: a plugin that cannot start at all is a load error,
// typed and quick.
func TestLoadFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		status abi.Status
		is     error
	}{
		{"exit at start", func(c *Config) { c.Env = append(c.Env, "HOSTILE_START=exit") }, abi.StatusCrash, nil},
		{"garbage before handshake", func(c *Config) { c.Env = append(c.Env, "HOSTILE_START=garbage") }, abi.StatusCrash, nil},
		{"checksum mismatch", func(c *Config) { c.SHA256 = bins.exampleSum }, abi.StatusError, ErrChecksum},
		{"kind other than configured", func(c *Config) { c.Kind = abi.KindSegmenter }, abi.StatusError, nil},
		{"missing executable", func(c *Config) { c.Command = []string{bins.dir + "/nope"} }, abi.StatusError, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hostileConfig(t, "ok")
			tc.mutate(&cfg)
			start := time.Now()
			_, err := Load(context.Background(), cfg)
			require.Less(t, time.Since(start), 2*time.Second)
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe, "got %v", err)
			require.Equal(t, "load", pe.Op)
			require.Equal(t, tc.status, pe.Status, "%v", err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
}

// TestChecksumChangedUnderTheHost: a restart re-checks the executable; one
// swapped for another file marks the plugin failed with ErrChecksum.
func TestChecksumChangedUnderTheHost(t *testing.T) {
	exe := t.TempDir() + "/plugin"
	copyFile(t, bins.hostile, exe)
	cfg := hostileConfig(t, "ok")
	cfg.Command = []string{exe}
	p := mustLoad(t, cfg)
	copyFile(t, bins.example, exe)
	_, err := p.Verify(context.Background(), ask("crash", ""))
	require.ErrorIs(t, err, host.ErrCrash)
	start := time.Now()
	_, err = p.Verify(context.Background(), ask("4", "4"))
	require.Less(t, time.Since(start), time.Second)
	require.ErrorIs(t, err, ErrChecksum)
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorIs(t, err, host.ErrCrash)
	require.Equal(t, "failed", p.Stats().State)
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	_ = os.Remove(to) // a running executable cannot be rewritten in place
	require.NoError(t, os.WriteFile(to, b, 0o755))
}

// TestKeepsDying: a plugin that dies at every restart is marked failed after
// MaxRestarts, and calls then fail at once with the cause.
func TestKeepsDying(t *testing.T) {
	cfg := hostileConfig(t, "ok,exit")
	p := mustLoad(t, cfg)
	_, err := p.Verify(context.Background(), ask("crash", ""))
	require.ErrorIs(t, err, host.ErrCrash)
	_, err = p.Verify(context.Background(), ask("4", "4"))
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorContains(t, err, "died 4 times in a row")
	start := time.Now()
	_, err = p.Verify(context.Background(), ask("4", "4"))
	require.ErrorIs(t, err, ErrFailed)
	require.Less(t, time.Since(start), 50*time.Millisecond)
	st := p.Stats()
	require.Equal(t, "failed", st.State)
	require.Equal(t, int64(3), st.Restarts)
}

func TestInsecure(t *testing.T) {
	cfg := hostileConfig(t, "ok")
	cfg.SHA256, cfg.Insecure = "", true
	p := mustLoad(t, cfg)
	v, err := p.Verify(context.Background(), ask("4", "4"))
	require.NoError(t, err)
	require.Equal(t, bins.hostileSum, v.SHA256, "the digest is recorded even when it is not checked")
	require.Equal(t, bins.hostileSum, p.SHA256())
}

// TestCloseIsQuick: Close asks the plugin to shut down over go-plugin's
// controller and does not sit out the 2 s grace period.
func TestCloseIsQuick(t *testing.T) {
	p, err := Load(context.Background(), hostileConfig(t, "ok"))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, p.Close())
	require.Less(t, time.Since(start), time.Second)
	_, err = p.Verify(context.Background(), ask("4", "4"))
	require.ErrorIs(t, err, ErrClosed)
}

func TestCanceledByCaller(t *testing.T) {
	p := mustLoad(t, hostileConfig(t, "ok"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := p.Verify(ctx, ask("block", ""))
	require.ErrorIs(t, err, context.Canceled)
	var pe *host.PluginError
	require.False(t, errors.As(err, &pe), "a cancellation is not a plugin failure")
}
