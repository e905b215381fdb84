package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the lock of a run directory. The process that trains the run
// holds an exclusive flock(2) on it and writes its pid into it. The lock
// belongs to the open file, not to the file's existence: the kernel drops it
// when the process ends in any way, kill -9 included, so a lock file left by
// a dead process is simply taken over by the next one.
const LockFile = "run.lock"

// LockedError is returned when another process holds a run directory.
type LockedError struct {
	Dir string
	// PID is the holder's process id, 0 when it has not written it yet.
	PID int
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("process %d", e.PID)
	}
	return fmt.Sprintf("run directory %s is in use by %s (it holds %s): wait for it to end or stop it first; two processes must never write one run",
		e.Dir, holder, filepath.Join(e.Dir, LockFile))
}

// dirLock is a held run directory lock.
type dirLock struct {
	f    *os.File
	path string
}

// lockDir takes the lock of the existing directory dir, or returns a
// *LockedError naming the holder.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	if err := flock(f); err != nil {
		defer f.Close()
		if errors.Is(err, errLocked) {
			return nil, &LockedError{Dir: dir, PID: readPID(f)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: write pid: %w", path, err)
	}
	return &dirLock{f: f, path: path}, nil
}

func readPID(f *os.File) int {
	raw, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return pid
}

// release drops the lock; the file stays (the next holder overwrites it).
func (l *dirLock) release() error { return l.f.Close() }

// remove deletes the lock file, then drops the lock.
func (l *dirLock) remove() error {
	return errors.Join(os.Remove(l.path), l.f.Close())
}
