package run

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A directory holding files but no run is refused, and what it holds is
// left as it was (a metrics.jsonl there was once overwritten).
func TestNewRunRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	old := []byte(`{"step":1,"mine":true}` + "\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, MetricsFile), old, 0o644))
	_, err := train(context.Background(), Options{Config: fakeConfig(dir, 2, 1)}, newFake(0))
	require.ErrorContains(t, err, "is not empty and holds no run (it has metrics.jsonl)")
	got, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	require.NoError(t, err)
	require.Equal(t, old, got)
	_, err = os.Stat(filepath.Join(dir, ConfigFile))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Files the caller names in Keep are accepted and kept.
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stamp"), []byte("x\n"), 0o644))
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 2, 1), Keep: []string{"stamp"}}, newFake(0))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "stamp"))

	// An empty directory, or one with only a dead process's lock file, is
	// a new run's.
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, LockFile), []byte("999999\n"), 0o644))
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 2, 1)}, newFake(0))
	require.NoError(t, err)
}

// A new run that fails to start leaves nothing that blocks the corrected
// retry: not the directory it made, and in a directory that existed, only
// what was there before.
func TestFailedStartLeavesNothing(t *testing.T) {
	failing := func(_ context.Context, _ Config, runDir, _ string) (stepper, error) {
		// What a real start writes before it fails: a from-scratch model.
		require.NoError(t, os.MkdirAll(filepath.Join(runDir, initDir), 0o755))
		return nil, errors.New("bad plugin")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "run")
	_, err := train(context.Background(), Options{Config: fakeConfig(dir, 2, 1)}, failing)
	require.ErrorContains(t, err, "bad plugin")
	require.NoDirExists(t, dir)

	existing := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(existing, "stamp"), nil, 0o644))
	_, err = train(context.Background(), Options{Config: fakeConfig(existing, 2, 1), Keep: []string{"stamp"}}, failing)
	require.ErrorContains(t, err, "bad plugin")
	entries, err := os.ReadDir(existing)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "stamp", entries[0].Name())

	// The corrected command starts the run; a resume has nothing to
	// replay.
	_, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.ErrorContains(t, err, "is not a run directory")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 2, 1)}, newFake(0))
	require.NoError(t, err)
}

// A real start with a mistyped verifier (it once panicked) leaves no run
// directory.
func TestFailedPluginStartLeavesNoDir(t *testing.T) {
	c, err := Preset("grpo")
	require.NoError(t, err)
	c.Run.Dir, c.Run.Steps, c.Run.Log = filepath.Join(t.TempDir(), "d1"), 2, "none"
	c.Model = ModelConfig{Engine: "cpu", Preset: "nano", Tokenizer: "char:" + e2eAlphabet}
	c.Data.Train = e2eData(t, 4)
	c.Data.Template.Kind = "plain"
	c.Reward.Verifier = "nosuchverifier"
	_, err = Train(context.Background(), Options{Config: c})
	require.ErrorContains(t, err, `plugin "nosuchverifier"`)
	require.NoDirExists(t, c.Run.Dir)
}

// One process at a time owns a run: a resume or a new start on the
// directory of a live run, here before its first checkpoint, is refused
// with the holder's pid and changes nothing (such a resume once truncated
// the live run's logs and trained beside it), and the lock of a process
// killed with SIGKILL is taken over: the run still ends exactly as an
// uninterrupted one.
func TestRunDirLock(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ref := filepath.Join(t.TempDir(), "ref")
	_, err := train(context.Background(), Options{Config: fakeConfig(ref, 30, 4)}, newFake(0))
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// 30 steps of 100 ms, the first checkpoint after 4.
	cmd.Env = append(os.Environ(), "RWTEST_CHILD="+dir, "RWTEST_NEW=1", "RWTEST_DELAY_MS=100")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
	}()
	// Wait for the child to hold the lock and open its logs (lines are
	// buffered until a checkpoint).
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(filepath.Join(dir, LockFile))
		if len(raw) > 0 && fileExists(filepath.Join(dir, MetricsFile)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the child never started: %s", stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	var locked *LockedError
	_, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.ErrorAs(t, err, &locked)
	require.Equal(t, cmd.Process.Pid, locked.PID)
	require.ErrorContains(t, err, "in use by process")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 30, 4)}, newFake(0))
	require.ErrorAs(t, err, &locked)
	require.Equal(t, cmd.Process.Pid, locked.PID)

	// Let it write a checkpoint, kill it, and resume: the stale lock is
	// taken over and the run ends as if never interrupted.
	for {
		if all, _ := checkpoints(dir); len(all) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint: %s", stderr.String())
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill())
	<-exited
	_, err = train(context.Background(), Options{Resume: dir}, newFake(0))
	require.NoError(t, err)
	requireSameRun(t, ref, dir)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// failAt wraps a stepper so that its step n (1-based) fails, as a run whose
// verifier fails every call stops after its first steps.
type failAt struct {
	stepper
	n int
}

func (f failAt) step(ctx context.Context, step int, seed uint64) (stepResult, error) {
	if step+1 == f.n {
		return stepResult{}, errors.New("verifier failed every call")
	}
	return f.stepper.step(ctx, step, seed)
}

// A new run that stops during its first steps, before any checkpoint,
// does not block the corrected command: the run holds nothing a resume
// could continue (it would start from step 0), so a new start replaces
// it, keeping the files named in Options.Keep. Once a checkpoint exists,
// a new start is refused as before. (The corrected retry was once told
// the directory "already holds a run", and --resume replayed the bad
// config.)
func TestRunStoppedBeforeCheckpointIsReplaced(t *testing.T) {
	failing := func(n int) newStepper {
		return func(ctx context.Context, cfg Config, runDir, policyDir string) (stepper, error) {
			s, err := newFake(0)(ctx, cfg, runDir, policyDir)
			return failAt{s, n}, err
		}
	}
	ref := filepath.Join(t.TempDir(), "ref")
	_, err := train(context.Background(), Options{Config: fakeConfig(ref, 4, 3)}, newFake(0))
	require.NoError(t, err)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stamp"), []byte("mine"), 0o644))
	opts := Options{Config: fakeConfig(dir, 4, 3), Keep: []string{"stamp"}}
	_, err = train(context.Background(), opts, failing(2))
	require.ErrorContains(t, err, "step 2: verifier failed every call")
	require.FileExists(t, filepath.Join(dir, ConfigFile), "the failed run's logs stay for diagnosis")
	require.Len(t, readLines(t, filepath.Join(dir, MetricsFile)), 1)

	_, err = train(context.Background(), opts, newFake(0))
	require.NoError(t, err)
	// The replacement is the run an untouched directory gives.
	requireSameRun(t, ref, dir)
	stamp, err := os.ReadFile(filepath.Join(dir, "stamp"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(stamp))

	// A run that failed after its first checkpoint is resumed, not replaced.
	dir = filepath.Join(t.TempDir(), "late")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 4, 3)}, failing(4))
	require.ErrorContains(t, err, "step 4:")
	_, err = train(context.Background(), Options{Config: fakeConfig(dir, 4, 3)}, newFake(0))
	require.ErrorContains(t, err, "already holds a run: resume it with `rewind train --resume")
}
