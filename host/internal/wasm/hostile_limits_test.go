package wasm

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// TestHostileGuestsHeldToLimits runs the guests that attack the deadline
// and the memory cap through memory.grow, the call stack and loop-free
// recursion, at the default limits, and asserts generous bounds (the
// measured numbers, from BenchmarkHostileLimits, are in
// docs/plugin-host.md): the call ends within a second of its deadline and
// the process's peak memory grows by less than twice the cap. Before the
// never-moving memory (memory.go), growloop grew the host by 4.2x the cap
// and fanout never ended.
func TestHostileGuestsHeldToLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("each case runs to the 1 s default deadline")
	}
	tests := []struct {
		name   string
		status abi.Status
		errHas string
	}{
		{"growloop", abi.StatusTimeout, "deadline"},
		{"growtouch", abi.StatusTimeout, "deadline"},
		// A trap on the stack limit, or, on a machine loaded enough that
		// filling the stack takes past the deadline, a timeout.
		{"recurse", abi.StatusTrap, "stack overflow"},
		{"fanout", abi.StatusTimeout, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(context.Background(), Config{Name: tt.name, Path: hostileDir + tt.name + ".wasm"})
			require.NoError(t, err)
			defer p.Close(context.Background())
			for i := range 2 { // the second call runs on a replacement instance
				runtime.GC()
				base, measured := resetPeakRSS(t)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang fails, not blocks
				start := time.Now()
				_, err := p.Verify(ctx, okReq)
				took := time.Since(start)
				cancel()
				var grew int64
				if measured {
					grew = peakRSS(t) - base
				}
				var we *Error
				require.True(t, errors.As(err, &we), "%v", err)
				if tt.name == "recurse" && we.Status == abi.StatusTimeout {
					require.ErrorContains(t, err, "deadline")
				} else {
					require.Equal(t, tt.status, we.Status, "call %d: %v", i, err)
					require.ErrorContains(t, err, tt.errHas)
				}
				require.Less(t, took, DefaultTimeout+time.Second, "call %d", i)
				if measured && tt.name != "recurse" {
					// recurse's cost is wazero's call stack (about 160 MiB at
					// its fixed ceiling), not the memory cap.
					require.Less(t, grew, int64(2*DefaultMemoryMiB<<20), "call %d: peak RSS grew by %d MiB", i, grew>>20)
				}
			}
		})
	}
}

// TestLoadTimeLoopsAreTimeouts: a loop in the start section or in
// _initialize fails the load with status timeout every time (it was a
// trap or a timeout by chance), and the message names the function that
// looped.
func TestLoadTimeLoopsAreTimeouts(t *testing.T) {
	for _, tt := range []struct{ name, has, hasNot string }{
		{"startloop", "the start function", "_initialize"},
		{"initloop", "_initialize", "start function"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 {
				start := time.Now()
				_, err := Load(context.Background(), Config{Name: tt.name, Path: hostileDir + tt.name + ".wasm", Timeout: 50 * time.Millisecond})
				require.Less(t, time.Since(start), 2*time.Second)
				var we *Error
				require.True(t, errors.As(err, &we), "%v", err)
				require.Equal(t, abi.StatusTimeout, we.Status, "%v", err)
				require.ErrorContains(t, err, tt.has)
				require.NotContains(t, err.Error(), tt.hasNot)
				require.NotContains(t, err.Error(), "rewind_verify")
			}
		})
	}
}

// TestTrapsNameTheAuthorsFunctions: the instrumentation shifts every
// function index by one; the stack trace must still name functions by
// the author's names or original indices.
func TestTrapsNameTheAuthorsFunctions(t *testing.T) {
	p, err := Load(context.Background(), Config{Name: "trapinner", Path: hostileDir + "trapinner.wasm"})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = p.Verify(context.Background(), okReq)
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.Contains(msg, ".$3()\n"), "%s", msg)
	require.NotContains(t, msg, ".$4()")
}

// TestErrorSaysItsStatusOnce: the status is a field the host prints; the
// message is the cause alone, so wrapping it ("wasm module PATH: ...")
// and printing it through host.PluginError does not repeat the status
// (issue 13: "malformed: malformed:", "timeout: ... timeout:").
func TestErrorSaysItsStatusOnce(t *testing.T) {
	_, err := Load(context.Background(), Config{Name: "startloop", Path: hostileDir + "startloop.wasm", Timeout: 20 * time.Millisecond})
	var we *Error
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, abi.StatusTimeout, we.Status)
	require.Equal(t, "the start function: ran past its deadline: context deadline exceeded", err.Error())
}
