package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

const hostileDir = "../../testdata/hostile/"

var okReq = &abi.VerifyRequest{Task: abi.Task{ID: "t", Answer: json.RawMessage(`"1"`)}, Response: `\boxed{1}`}

func TestHostileGuestsFailTyped(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name   string
		status abi.Status // "" means the call succeeds
		errHas string
	}{
		{"loop", abi.StatusTimeout, "deadline"},
		{"trap", abi.StatusTrap, "unreachable"},
		{"grow", abi.StatusTrap, "out of bounds"},
		{"huge", abi.StatusOversized, "over the 1 KiB cap"},
		{"outside", abi.StatusMalformed, "outside the module's"},
		{"badjson", abi.StatusMalformed, "want a number"},
		{"openfile", abi.StatusError, "open refused"},
		{"env", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := timeout
			if tt.name == "grow" {
				to = 5 * time.Second // growing to the cap is slow on a loaded 2-core machine; the cap, not the deadline, must stop it
			}
			p, err := Load(context.Background(), Config{Name: tt.name, Path: hostileDir + tt.name + ".wasm",
				Timeout: to, MemoryMiB: 4, MaxOutputKiB: 1})
			require.NoError(t, err)
			defer p.Close(context.Background())
			for range 2 { // the second call runs on a replacement instance
				start := time.Now()
				v, err := p.Verify(context.Background(), okReq)
				require.Less(t, time.Since(start), to+500*time.Millisecond)
				if tt.status == "" {
					require.NoError(t, err)
					require.Equal(t, 1.0, v.Score)
					continue
				}
				var we *Error
				require.True(t, errors.As(err, &we), "%v", err)
				require.Equal(t, tt.status, we.Status, "%v", err)
				require.ErrorContains(t, err, tt.errHas)
			}
		})
	}
}

func TestHostileGuestsRefusedAtLoad(t *testing.T) {
	tests := []struct{ name, errHas string }{
		{"version2", "ABI version 2"},
		{"unknownimport", `import "env"."socket" is not provided by the host`},
		{"generate", `needs the capability "generate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), Config{Name: tt.name, Path: hostileDir + tt.name + ".wasm"})
			require.ErrorContains(t, err, tt.errHas)
		})
	}
}

// TestFailingCallsDoNotLeak runs many failing calls (traps, which discard
// and replace the instance each time, and oversized responses) and checks
// that goroutines and heap stay bounded. The looping guest is exercised
// fewer times because each call costs its deadline (10 ms here).
func TestFailingCallsDoNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := context.Background()
	load := func(name string, timeout time.Duration) *Plugin {
		p, err := Load(ctx, Config{Name: name, Path: hostileDir + name + ".wasm", Timeout: timeout, MemoryMiB: 1, MaxOutputKiB: 1, PoolSize: 2})
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close(ctx) })
		return p
	}
	trap, huge, loop := load("trap", time.Second), load("huge", time.Second), load("loop", 10*time.Millisecond)
	run := func(p *Plugin, n int) {
		for range n {
			_, err := p.Verify(ctx, okReq)
			require.Error(t, err)
		}
	}
	run(trap, 100)
	run(huge, 100)
	run(loop, 5)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	run(trap, 2000)
	run(huge, 2000)
	run(loop, 50)
	time.Sleep(20 * time.Millisecond) // let wazero's per-call watchers exit
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.LessOrEqual(t, runtime.NumGoroutine(), g0+2)
	require.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(16<<20), "heap grew by %d bytes", int64(after.HeapInuse)-int64(before.HeapInuse))
}
