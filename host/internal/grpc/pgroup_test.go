package grpchost

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
)

// alive reports whether pid runs: a zombie (exited, not yet reaped by an
// init that may never reap it in a container) counts as gone.
func alive(pid int) bool {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
			return s[i+2] != 'Z'
		}
		return true
	}
	return syscall.Kill(pid, 0) == nil
}

// startChild asks the hostile plugin to start a child process (sleep 1h)
// and returns the child's pid.
func startChild(t *testing.T, p *Plugin) int {
	t.Helper()
	v, err := p.Verify(context.Background(), ask("child", ""))
	require.NoError(t, err)
	pid, err := strconv.Atoi(v.Detail)
	require.NoError(t, err)
	require.True(t, alive(pid))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// TestChildrenDoNotOutliveThePlugin: a process plugin runs in its own
// process group, and the host kills the group when it closes the plugin,
// when the plugin crashes and is restarted, and when a wedged plugin is
// replaced: nothing the plugin started survives (issue 13: children were
// re-parented to pid 1 and kept running after rewind exited).
func TestChildrenDoNotOutliveThePlugin(t *testing.T) {
	gone := func(pid int) bool { return !alive(pid) }
	t.Run("close", func(t *testing.T) {
		p := mustLoad(t, hostileConfig(t, "ok"))
		pid := startChild(t, p)
		require.NoError(t, p.Close())
		require.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 10*time.Millisecond)
	})
	t.Run("crash", func(t *testing.T) {
		p := mustLoad(t, hostileConfig(t, "ok"))
		pid := startChild(t, p)
		_, err := p.Verify(context.Background(), ask("crash", ""))
		require.ErrorIs(t, err, host.ErrCrash)
		require.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 10*time.Millisecond)
		v, err := p.Verify(context.Background(), ask("4", "4")) // the restarted process serves
		require.NoError(t, err)
		require.Equal(t, 1.0, v.Score)
	})
}

// TestAnswersBeforeACrashCount: a plugin that answers two calls and dies
// on its third, driven by 8 callers at once, is restarted each time and
// never given up on: every generation answered calls (issue 13: it was
// marked failed "after 6 deaths without answering a call").
func TestAnswersBeforeACrashCount(t *testing.T) {
	cfg := hostileConfig(t, "ok")
	cfg.Timeout = 10 * time.Second
	cfg.Restart.InitialBackoff, cfg.Restart.MaxBackoff = time.Millisecond, time.Millisecond
	p := mustLoad(t, cfg)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var oks int
	var failed error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				_, err := p.Verify(context.Background(), ask("crashafter:3", ""))
				mu.Lock()
				if err == nil {
					oks++
				} else if errorIs(err, ErrFailed) {
					failed = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, failed)
	require.NotEqual(t, "failed", p.Stats().State)
	require.Positive(t, oks)
}
