package run

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// flipByte changes one byte of a file in place, as a bad disk would.
func flipByte(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	raw[len(raw)/2] ^= 0x01
	require.NoError(t, os.WriteFile(path, raw, 0o644))
}

// A checkpoint records the sha256 of every file; a resume skips a damaged
// newest checkpoint for the newest intact one, says which and why, and
// then runs exactly as an uninterrupted run (a flipped byte in the
// weights once resumed silently).
func TestDamagedCheckpointSkipped(t *testing.T) {
	ref := filepath.Join(t.TempDir(), "ref")
	_, err := train(context.Background(), Options{Config: fakeConfig(ref, 8, 2)}, newFake(0))
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "run")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 8, 2)}, newFake(0))
	require.NoError(t, err)
	newest := filepath.Join(dir, checkpointsDir, "step-00000008")
	require.FileExists(t, filepath.Join(newest, sumsFile))
	flipByte(t, filepath.Join(newest, policySubdir, "weights.json"))

	var log bytes.Buffer
	sum, err := train(context.Background(), Options{Resume: dir, Log: slog.New(slog.NewTextHandler(&log, nil))}, newFake(0))
	require.NoError(t, err)
	require.Equal(t, 6, sum.ResumedFrom)
	require.Contains(t, log.String(), "skipping a damaged checkpoint")
	require.Contains(t, log.String(), "step-00000008")
	require.Contains(t, log.String(), "policy/weights.json: sha256")
	require.DirExists(t, filepath.Join(dir, checkpointsDir, damagedPrefix+"step-00000008"))
	requireSameRun(t, ref, dir)

	// With every checkpoint damaged nothing is resumed, and the error
	// names each file.
	for _, c := range []string{"step-00000006", "step-00000008"} {
		flipByte(t, filepath.Join(dir, checkpointsDir, c, stateFile))
	}
	_, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.ErrorContains(t, err, "every checkpoint of "+dir+" is damaged")
	require.ErrorContains(t, err, "step-00000006: state.json: sha256")
	require.ErrorContains(t, err, "step-00000008: state.json: sha256")
}

func TestVerifySums(t *testing.T) {
	dir := t.TempDir()
	_, err := writeCheckpoint(dir, State{Step: 1}, func(d string) error {
		require.NoError(t, os.MkdirAll(filepath.Join(d, "sub"), 0o755))
		return os.WriteFile(filepath.Join(d, "sub", "model.safetensors"), []byte("weights"), 0o644)
	})
	require.NoError(t, err)
	ckpt := filepath.Join(dir, checkpointsDir, "step-00000001")
	sums, err := os.ReadFile(filepath.Join(ckpt, sumsFile))
	require.NoError(t, err)
	require.Contains(t, string(sums), "  policy/sub/model.safetensors\n")
	require.Contains(t, string(sums), "  state.json\n")
	require.NoError(t, verifySums(ckpt))

	weights := filepath.Join(ckpt, policySubdir, "sub", "model.safetensors")
	flipByte(t, weights)
	require.ErrorContains(t, verifySums(ckpt), "policy/sub/model.safetensors: sha256")
	require.NoError(t, os.Remove(weights))
	require.ErrorContains(t, verifySums(ckpt), "policy/sub/model.safetensors: missing")

	// A checkpoint from before checksums is read unverified.
	require.NoError(t, os.Remove(filepath.Join(ckpt, sumsFile)))
	require.NoError(t, verifySums(ckpt))
}
