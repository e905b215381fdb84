package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A resume refuses REWIND_* config variables as it refuses config flags
// (they were once silently ignored, unknown ones too); variables of other
// tools are left alone.
func TestTrainResumeRefusesEnvOverrides(t *testing.T) {
	train, _, err := rootCmd.Find([]string{"train"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = train.Flags().Set("resume", "") }) // cobra keeps flag values between Execute calls
	dir := filepath.Join(t.TempDir(), "run")

	t.Setenv("REWIND_BLAS", "off")
	t.Setenv("REWIND_ALGO_LOSS", "clip")
	t.Setenv("REWIND_ALGO_LOS", "clip")
	_, _, err = runRewind(t, "train", "--resume", dir)
	require.ErrorContains(t, err, "the environment sets REWIND_ALGO_LOS, REWIND_ALGO_LOSS: unset it")

	// Without them the resume gets as far as the directory.
	require.NoError(t, os.Unsetenv("REWIND_ALGO_LOSS")) // t.Setenv restores them
	require.NoError(t, os.Unsetenv("REWIND_ALGO_LOS"))
	_, _, err = runRewind(t, "train", "--resume", dir)
	require.ErrorContains(t, err, dir+" is not a run directory")
}
