package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProbeArgumentErrors: flags keep their values between runRewind
// calls (one root command), so each call sets what the last one changed.
func TestProbeArgumentErrors(t *testing.T) {
	_, _, err := runRewind(t, "probe", "--model", t.TempDir())
	require.ErrorContains(t, err, "give a task FAMILY or --data")
	_, _, err = runRewind(t, "probe", "walk", "--data", "x.jsonl", "--model", t.TempDir())
	require.ErrorContains(t, err, "not both")
	_, _, err = runRewind(t, "probe", "walk", "--data", "", "--n", "2", "--model", t.TempDir())
	require.ErrorContains(t, err, "--model")
}
