package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteFileReplacesAndLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, WriteFile(path, []byte("old")))
	require.NoError(t, WriteFile(path, []byte("new")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "a temporary file was left behind")
}

func TestWriteFileErrorLeavesTargetUntouched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x")
	require.NoError(t, WriteFile(path, []byte("kept")))
	// A directory where the file should go makes the rename fail.
	require.Error(t, WriteFile(filepath.Join(dir, "missing", "y"), []byte("z")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "kept", string(got))
}

func TestWriteFileSyncTruncates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, WriteFileSync(path, []byte("longer content")))
	require.NoError(t, WriteFileSync(path, []byte("short")))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "short", string(got))
	require.NoError(t, SyncDir(filepath.Dir(path)))
	require.Error(t, SyncDir(filepath.Join(t.TempDir(), "nope")))
}
