package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
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
		{"dupkeys", abi.StatusMalformed, `duplicate key "score"`},
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

// loadMoody loads testdata/hostile/moody.wasm, which fails according to
// markers in its request (see moody.wat).
func loadMoody(t testing.TB, cfg Config) *Plugin {
	t.Helper()
	cfg.Name, cfg.Path = "moody", hostileDir+"moody.wasm"
	if cfg.Options == nil {
		cfg.Options = []byte(`{"greeting":"hello"}`)
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 4
	}
	if cfg.MaxOutputKiB == 0 {
		cfg.MaxOutputKiB = 1
	}
	p, err := Load(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func moodyReq(marker string) *abi.VerifyRequest {
	return &abi.VerifyRequest{Task: abi.Task{ID: "t", Answer: json.RawMessage(`"1"`)}, Response: "please " + marker}
}

// TestSamePluginRecoversAfterEachFailure drives one plugin with one
// instance through every failure mode, each followed by a call that must
// succeed on the same plugin, under both deadline mechanisms.
func TestSamePluginRecoversAfterEachFailure(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, mode := range []DeadlineMode{DeadlineMeter, DeadlineCloseOnContextDone} {
		// 1 MiB of memory: GROW's first 1 MiB step is refused, so it traps
		// at once rather than racing the short deadline on a slow machine.
		p := loadMoody(t, Config{Timeout: timeout, PoolSize: 1, Deadline: mode, MemoryMiB: 1})
		for _, tt := range []struct {
			marker string
			status abi.Status
			errHas string
		}{
			{"TRAP", abi.StatusTrap, "unreachable"},
			{"LOOP", abi.StatusTimeout, "deadline"},
			{"HUGE", abi.StatusOversized, "over the 1 KiB cap"},
			{"BADJSON", abi.StatusMalformed, "want a number"},
			{"GROW", abi.StatusTrap, "unreachable"},
		} {
			start := time.Now()
			_, err := p.Verify(context.Background(), moodyReq(tt.marker))
			require.Less(t, time.Since(start), timeout+500*time.Millisecond, "mode %d %s", mode, tt.marker)
			var we *Error
			require.True(t, errors.As(err, &we), "mode %d %s: %v", mode, tt.marker, err)
			require.Equal(t, tt.status, we.Status, "mode %d %s: %v", mode, tt.marker, err)
			require.ErrorContains(t, err, tt.errHas)

			v, err := p.Verify(context.Background(), moodyReq("nothing"))
			require.NoError(t, err, "mode %d: the call after %s", mode, tt.marker)
			require.Equal(t, 1.0, v.Score)
		}
	}
}

// TestCallerCancellationStopsALoop checks that a looping call ends soon
// after its caller's context does, long before the plugin's deadline.
func TestCallerCancellationStopsALoop(t *testing.T) {
	p := loadMoody(t, Config{Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Verify(ctx, moodyReq("LOOP"))
	require.Less(t, time.Since(start), time.Second)
	var we *Error
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, abi.StatusTimeout, we.Status)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = p.Verify(context.Background(), moodyReq("nothing"))
	require.NoError(t, err)
}

// TestInitReceivesOptions: moody's rewind_init accepts the load only when
// it sees both the configured name and the greeting option.
func TestInitReceivesOptions(t *testing.T) {
	loadMoody(t, Config{Options: []byte(`{"greeting":"hello","other":[1,2]}`)})
	_, err := Load(context.Background(), Config{Name: "moody", Path: hostileDir + "moody.wasm", Options: []byte(`{"greeting":"bye"}`)})
	require.ErrorContains(t, err, "rewind_init")
	require.ErrorContains(t, err, "say hello")
	_, err = Load(context.Background(), Config{Name: "someone-else", Path: hostileDir + "moody.wasm", Options: []byte(`{"greeting":"hello"}`)})
	require.ErrorContains(t, err, "say hello")
}

// TestGenerateCapability: a module granted "generate" gets the host's
// answer in its own memory; a failing generator reaches the guest as an
// {"error"} message.
func TestGenerateCapability(t *testing.T) {
	var asked []string
	gen := func(ctx context.Context, req []byte) ([]byte, error) {
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no deadline")
		}
		asked = append(asked, string(req))
		if len(asked) > 1 {
			return nil, errors.New("policy unavailable")
		}
		return []byte(`{"score":0.5,"status":"ok","detail":"from the policy"}`), nil
	}
	p, err := Load(context.Background(), Config{Name: "gen", Path: hostileDir + "generateok.wasm", Generate: gen})
	require.NoError(t, err)
	defer p.Close(context.Background())
	v, err := p.Verify(context.Background(), okReq)
	require.NoError(t, err)
	require.Equal(t, []string{"2+2="}, asked)
	require.Equal(t, 0.5, v.Score)
	require.Equal(t, "from the policy", v.Detail)

	_, err = p.Verify(context.Background(), okReq)
	var we *Error
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, abi.StatusError, we.Status)
	require.ErrorContains(t, err, "policy unavailable")

	_, err = Load(context.Background(), Config{Name: "gen", Path: hostileDir + "generateok.wasm"})
	require.ErrorContains(t, err, "no policy is available")
}

// TestFailingCallsDoNotLeak runs 10,000 failing calls on one plugin
// (traps, which discard and replace the instance each time, oversized and
// malformed responses), interleaved with successful calls, and checks that
// goroutines and heap stay bounded. Deadline failures cost their deadline
// each, so they are 100 calls at 2 ms.
func TestFailingCallsDoNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 calls")
	}
	ctx := context.Background()
	p := loadMoody(t, Config{Timeout: time.Second, PoolSize: 2})
	loop := loadMoody(t, Config{Timeout: 2 * time.Millisecond, PoolSize: 2})
	markers := []string{"TRAP", "HUGE", "BADJSON"}
	reqs := make([]*abi.VerifyRequest, len(markers))
	for i, m := range markers {
		reqs[i] = moodyReq(m)
	}
	ok := moodyReq("fine")
	run := func(n int) {
		for i := range n {
			_, err := p.Verify(ctx, reqs[i%len(reqs)])
			require.Error(t, err)
			if i%100 == 0 {
				_, err := p.Verify(ctx, ok)
				require.NoError(t, err)
			}
		}
	}
	runLoops := func(n int) {
		for range n {
			_, err := loop.Verify(ctx, moodyReq("LOOP"))
			require.Error(t, err)
		}
	}
	run(300)
	runLoops(10)
	p.closing.Wait()
	loop.closing.Wait()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	run(10000)
	runLoops(100)
	p.closing.Wait() // dead instances are closed in the background
	loop.closing.Wait()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.LessOrEqual(t, runtime.NumGoroutine(), g0+2)
	require.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(16<<20), "heap grew by %d bytes", int64(after.HeapInuse)-int64(before.HeapInuse))
}

func TestMeterRefuses(t *testing.T) {
	_, err := meter([]byte("not wasm"))
	require.ErrorContains(t, err, "not a WebAssembly binary")
	// A module that imports from the host's reserved module.
	bin := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
		"\x02\x18\x01\x0brewind_host\x0acheckpoint\x00\x00")
	_, err = meter(bin)
	require.ErrorContains(t, err, `imports from "rewind_host"`)
	// A module that exports the name the start function is moved to.
	bin = []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
		"\x03\x02\x01\x00" + // function 0: type 0
		"\x07\x15\x01\x11rewind_host.start\x00\x00" + // export "rewind_host.start" = func 0
		"\x0a\x04\x01\x02\x00\x0b") // code: empty body
	_, err = meter(bin)
	require.ErrorContains(t, err, `exports "rewind_host.start", which the host reserves`)
}

// TestMeterPreservesSemantics runs a module that uses every construct the
// instrumentation renumbers (see features.wat), metered and unmetered.
func TestMeterPreservesSemantics(t *testing.T) {
	for _, mode := range []DeadlineMode{DeadlineMeter, DeadlineCloseOnContextDone} {
		p, err := Load(context.Background(), Config{Name: "features", Path: hostileDir + "features.wasm", Deadline: mode})
		require.NoError(t, err, "mode %d", mode)
		v, err := p.Verify(context.Background(), okReq)
		require.NoError(t, err, "mode %d", mode)
		require.Equal(t, 1.0, v.Score, "mode %d", mode)
		require.NoError(t, p.Close(context.Background()))
	}
	bin, err := os.ReadFile(hostileDir + "features.wasm")
	require.NoError(t, err)
	metered, err := meter(bin)
	require.NoError(t, err)
	require.Greater(t, len(metered), len(bin))
	again, err := meter(bin)
	require.NoError(t, err)
	require.Equal(t, metered, again, "the rewrite is deterministic (the compilation cache keys on it)")
}
