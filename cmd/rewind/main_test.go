package main

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestInterruptible: the first Ctrl-C cancels the commands' context (they
// stop and close their plugins), the second exits at once through exit,
// which kills the plugins' process groups. Process plugins run in groups
// of their own, so the terminal's Ctrl-C reaches only the CLI.
func TestInterruptible(t *testing.T) {
	var out bytes.Buffer
	exited := make(chan struct{})
	ctx, stop := interruptible(&out, func() { close(exited) })
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first Ctrl-C did not cancel the context")
	}
	select {
	case <-exited:
		t.Fatal("the first Ctrl-C exited")
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the second Ctrl-C did not exit")
	}
	require.Contains(t, out.String(), "Ctrl-C again")
}
