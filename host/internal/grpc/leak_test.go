package grpchost

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// settle returns the goroutine count and live heap once the runtime has
// had a moment to finish exiting goroutines.
func settle() (int, uint64) {
	var ms runtime.MemStats
	for range 20 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

// TestNoLeakOverManyFailures makes 10,000 failing calls of each cheap kind
// (an error the plugin returns; a call that hangs past a 2 ms deadline) and
// checks that the host's goroutines and live heap do not grow. Restart-based
// failures cost a process start each (~50 ms), so TestNoLeakOverRestarts
// runs 10 of them instead.
func TestNoLeakOverManyFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 calls")
	}
	cfg := hostileConfig(t, "ok")
	cfg.Logger = discardLogger()
	p := mustLoad(t, cfg)
	for _, tc := range []struct {
		response string
		timeout  time.Duration
		want     error
	}{
		{"error", time.Second, host.ErrPlugin},
		{"block", 2 * time.Millisecond, host.ErrTimeout},
	} {
		t.Run(tc.response, func(t *testing.T) {
			p.cfg.Timeout = tc.timeout
			run := func(n int) {
				const workers = 16
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for i := w; i < n; i += workers {
							if _, err := p.Verify(context.Background(), ask(tc.response, "")); !errorIs(err, tc.want) {
								t.Errorf("call %d: %v", i, err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
			run(500) // warm up: connection buffers, pools
			g0, h0 := settle()
			run(10_000)
			g1, h1 := settle()
			t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", g0, g1, h0>>10, h1>>10)
			if g1 > g0+2 {
				// On a loaded machine the goroutines of the last timed-out
				// calls can still be unwinding: give them a few seconds
				// before calling it a leak.
				require.Eventually(t, func() bool { g1, h1 = settle(); return g1 <= g0+2 }, 5*time.Second, 50*time.Millisecond,
					"goroutines grew: %d -> %d", g0, g1)
			}
			require.Less(t, int64(h1)-int64(h0), int64(4<<20), "live heap grew by more than 4 MiB")
			v, err := p.Verify(context.Background(), ask("4", "4"))
			require.NoError(t, err)
			require.Equal(t, 1.0, v.Score)
		})
	}
}

// TestNoLeakOverRestarts crashes the plugin 10 times; each crash is
// followed by a successful call on a restarted process.
func TestNoLeakOverRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("10 process restarts")
	}
	cfg := hostileConfig(t, "ok")
	cfg.Logger = discardLogger()
	cfg.Restart.InitialBackoff = time.Millisecond
	p := mustLoad(t, cfg)
	cycle := func() {
		_, err := p.Verify(context.Background(), ask("crash", ""))
		require.ErrorIs(t, err, host.ErrCrash)
		v, err := p.Verify(context.Background(), ask("4", "4"))
		require.NoError(t, err)
		require.Equal(t, 1.0, v.Score)
	}
	cycle()
	g0, h0 := settle()
	for range 10 {
		cycle()
	}
	g1, h1 := settle()
	t.Logf("goroutines %d -> %d, heap %d KiB -> %d KiB", g0, g1, h0>>10, h1>>10)
	require.LessOrEqual(t, g1, g0+2, "goroutines grew")
	require.Less(t, int64(h1)-int64(h0), int64(4<<20))
	require.Equal(t, int64(11), p.Stats().Restarts)
	require.Equal(t, abi.KindVerifier, p.Manifest().Kind)
}
