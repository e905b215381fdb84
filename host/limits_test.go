package host_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestResolveLimits(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defaults := host.Limits{MemoryMiB: host.DefaultMemoryMiB, Timeout: host.DefaultTimeout, MaxOutputKiB: host.DefaultMaxOutputKiB, Concurrency: procs}
	tests := []struct {
		name    string
		cfg     host.Limits
		asked   *abi.Limits
		process bool
		want    host.Limits
		err     string
	}{
		{"defaults", host.Limits{}, nil, false, defaults, ""},
		{"process defaults", host.Limits{}, nil, true,
			host.Limits{Timeout: host.DefaultProcessTimeout, MaxOutputKiB: host.DefaultMaxOutputKiB, Concurrency: procs}, ""},
		{"manifest asks for less", host.Limits{}, &abi.Limits{MemoryMiB: 16, TimeoutMillis: 200, MaxOutputKiB: 8}, false,
			host.Limits{MemoryMiB: 16, Timeout: 200 * time.Millisecond, MaxOutputKiB: 8, Concurrency: procs}, ""},
		{"manifest asks for the default", host.Limits{}, &abi.Limits{TimeoutMillis: 1000}, false, defaults, ""},
		{"config overrides the manifest both ways", host.Limits{MemoryMiB: 512, Timeout: 50 * time.Millisecond, Concurrency: 3},
			&abi.Limits{MemoryMiB: 16, TimeoutMillis: 200}, false,
			host.Limits{MemoryMiB: 512, Timeout: 50 * time.Millisecond, MaxOutputKiB: host.DefaultMaxOutputKiB, Concurrency: 3}, ""},
		{"manifest may not raise memory", host.Limits{}, &abi.Limits{MemoryMiB: 512}, false, defaults,
			"asks for memory_mib 512 MiB, above the host's default 128 MiB: a plugin cannot raise its own limits; grant it in the plugin's config (limits: {memory_mib: 512})"},
		{"manifest may not raise timeout", host.Limits{}, &abi.Limits{TimeoutMillis: 5000}, false, defaults,
			"(limits: {timeout: 5s})"},
		{"manifest may not raise output", host.Limits{}, &abi.Limits{MaxOutputKiB: 4096}, false, defaults,
			"(limits: {max_output_kib: 4096})"},
		{"config grants what the manifest asks", host.Limits{MemoryMiB: 512}, &abi.Limits{MemoryMiB: 512}, false,
			host.Limits{MemoryMiB: 512, Timeout: host.DefaultTimeout, MaxOutputKiB: host.DefaultMaxOutputKiB, Concurrency: procs}, ""},
		{"process ignores memory", host.Limits{}, &abi.Limits{MemoryMiB: 4096, TimeoutMillis: 20000}, true,
			host.Limits{Timeout: host.DefaultProcessTimeout, MaxOutputKiB: host.DefaultMaxOutputKiB, Concurrency: procs}, "(limits: {timeout: 20s})"},
		{"negative request", host.Limits{}, &abi.Limits{TimeoutMillis: -1}, false, defaults, "negative field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := host.ResolveLimits(tt.cfg, tt.asked, tt.process)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestWasmManifestLimits: a Wasm module's manifest limits apply through
// the registry, from a manifest file beside the module and from the
// rewind_manifest export; config fields override them.
func TestWasmManifestLimits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := os.ReadFile("testdata/hostile/moody.wasm")
	require.NoError(t, err)
	mod := filepath.Join(dir, "moody.wasm")
	require.NoError(t, os.WriteFile(mod, bin, 0o600))
	load := func(manifest string, lim host.Limits) (*host.Registry, error) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "moody.manifest.json"), []byte(manifest), 0o600))
		r := host.NewRegistry(host.Options{})
		t.Cleanup(func() { _ = r.Close() })
		return r, r.Load(ctx, "moody", host.PluginConfig{Wasm: mod, Limits: lim, Options: map[string]any{"greeting": "hello"}})
	}

	r, err := load(`{"abi":1,"kind":"verifier","name":"moody","version":"1","limits":{"timeout_ms":50,"memory_mib":1}}`, host.Limits{})
	require.NoError(t, err)
	p, _ := r.Plugin("moody")
	require.Equal(t, 50*time.Millisecond, p.Limits.Timeout)
	require.Equal(t, 1, p.Limits.MemoryMiB)
	v, _ := r.Verifier("moody")
	start := time.Now()
	_, err = v.Verify(ctx, &abi.VerifyRequest{Response: "LOOP"})
	require.ErrorIs(t, err, host.ErrTimeout)
	require.Less(t, time.Since(start), 50*time.Millisecond+500*time.Millisecond, "the manifest's 50 ms, not the default 1 s")

	_, err = load(`{"abi":1,"kind":"verifier","name":"moody","version":"1","limits":{"memory_mib":512}}`, host.Limits{})
	require.ErrorContains(t, err, "grant it in the plugin's config (limits: {memory_mib: 512})")
	r, err = load(`{"abi":1,"kind":"verifier","name":"moody","version":"1","limits":{"memory_mib":512}}`, host.Limits{MemoryMiB: 256})
	require.NoError(t, err)
	p, _ = r.Plugin("moody")
	require.Equal(t, 256, p.Limits.MemoryMiB, "the config decides")

	// exportlimits scores 0 when a 1 MiB growth is refused, i.e. when the
	// memory_mib: 1 of its exported manifest is applied.
	for _, tt := range []struct {
		cfgMiB, wantMiB int
		score           float64
	}{{0, 1, 0}, {2, 2, 1}} {
		r := host.NewRegistry(host.Options{})
		require.NoError(t, r.Load(ctx, "x", host.PluginConfig{Wasm: "testdata/hostile/exportlimits.wasm", Limits: host.Limits{MemoryMiB: tt.cfgMiB}}))
		p, _ := r.Plugin("x")
		require.Equal(t, tt.wantMiB, p.Limits.MemoryMiB)
		v, _ := r.Verifier("x")
		got, err := v.Verify(ctx, &abi.VerifyRequest{})
		require.NoError(t, err)
		require.Equal(t, tt.score, got.Score, "config memory_mib %d", tt.cfgMiB)
		require.NoError(t, r.Close())
	}
}
