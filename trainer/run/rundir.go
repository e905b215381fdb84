package run

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rewind-rl/rewind/internal/atomicfile"
)

// Files of a run directory.
const (
	ConfigFile   = "config.yaml"
	MetricsFile  = "metrics.jsonl"
	RolloutsFile = "rollouts.jsonl"
	SummaryFile  = "summary.json"
)

// runDir is an open run directory: its lock, the resolved config and the
// two JSONL logs, appended to one step at a time.
type runDir struct {
	path      string
	configSHA string
	lock      *dirLock
	metrics   *jsonlFile
	rollouts  *jsonlFile
	// created says createRunDir made the directory; keep lists the files
	// that were in it before (Options.Keep). discardNew uses both.
	created bool
	keep    []string
	// replaced says createRunDir cleared a run that had failed or been
	// stopped before its first checkpoint (train says so in its log).
	replaced bool
}

// createRunDir makes a new run directory holding cfg's resolved config and
// takes its lock. The directory must be new or empty apart from a stale
// lock file, what a start killed before writing config.yaml left, and the
// files named in keep: one that holds a run with a checkpoint is refused
// (resume it instead), and so is one holding anything else, which the run
// would mix its files into. A run that never completed a checkpoint (it
// failed or was stopped during its first steps, say a verifier that
// failed every call) has nothing to resume, since a resume would start it
// from step 0, so the corrected command replaces it instead of being told
// to resume the bad config.
func createRunDir(path string, cfg Config, keep []string) (d *runDir, err error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(path)
	if err != nil {
		if created {
			_ = os.Remove(path)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			if created {
				_ = os.Remove(lock.path)
				_ = os.Remove(path)
			}
			_ = lock.release()
		}
	}()
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	replaced := false
	if slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == ConfigFile }) {
		all, err := checkpoints(path)
		if err != nil {
			return nil, err
		}
		if len(all) > 0 {
			return nil, fmt.Errorf("run directory %s already holds a run: resume it with `rewind train --resume %s`, or choose another run.dir", path, path)
		}
		// This process holds the lock, so the old run is not running.
		if err := clearRun(path, entries, keep); err != nil {
			return nil, fmt.Errorf("run directory %s: clearing a run that never completed a checkpoint: %w", path, err)
		}
		if entries, err = os.ReadDir(path); err != nil {
			return nil, err
		}
		replaced = true
	}
	var foreign []string
	for _, e := range entries {
		switch name := e.Name(); {
		case name == LockFile || slices.Contains(keep, name):
		case strings.HasPrefix(name, "."+ConfigFile+".tmp"):
			// A start killed while writing config.yaml (atomicfile's
			// temporary); this process owns the directory now.
			if err := os.Remove(filepath.Join(path, name)); err != nil {
				return nil, err
			}
		default:
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "...")
		}
		return nil, fmt.Errorf("run directory %s is not empty and holds no run (it has %s): choose a new or empty run.dir, or empty this one", path, strings.Join(foreign, ", "))
	}
	y, err := cfg.YAML()
	if err != nil {
		return nil, err
	}
	// Atomically: a run killed here leaves either no config.yaml (the
	// directory holds no run yet) or a whole one (resume it).
	if err := atomicfile.WriteFile(filepath.Join(path, ConfigFile), y); err != nil {
		return nil, err
	}
	d, err = openLogs(path, y, 0, 0)
	if err != nil {
		_ = os.Remove(filepath.Join(path, ConfigFile))
		return nil, err
	}
	d.lock, d.created, d.keep, d.replaced = lock, created, keep, replaced
	return d, nil
}

// clearRun deletes what a run wrote in path: every entry but the lock
// file and the files named in keep.
func clearRun(path string, entries []os.DirEntry, keep []string) error {
	var errs []error
	for _, e := range entries {
		if e.Name() != LockFile && !slices.Contains(keep, e.Name()) {
			errs = append(errs, os.RemoveAll(filepath.Join(path, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// discardNew undoes createRunDir for a run that failed to start (bad
// data, model or plugin): it deletes everything the run wrote, and the
// directory itself when createRunDir made it, so that the corrected
// command can start the run again. The directory held nothing else when
// createRunDir took it.
func (d *runDir) discardNew() error {
	errs := []error{d.metrics.close(), d.rollouts.close()}
	entries, err := os.ReadDir(d.path)
	errs = append(errs, err, clearRun(d.path, entries, d.keep), d.lock.remove())
	d.lock = nil
	if d.created {
		errs = append(errs, os.Remove(d.path))
	}
	return errors.Join(errs...)
}

// openRunDir opens an existing run for resuming: it takes the run's lock,
// deletes what a killed checkpoint write left, finds the newest intact
// checkpoint, reads the resolved config and truncates the logs to the
// sizes the checkpoint recorded (to zero without one). ckpt is "" when
// no checkpoint was completed.
func openRunDir(path string, log *slog.Logger) (d *runDir, cfg Config, ckpt string, st State, err error) {
	file := filepath.Join(path, ConfigFile)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, Config{}, "", State{}, fmt.Errorf("%s is not a run directory (no %s)", path, ConfigFile)
	}
	lock, err := lockDir(path)
	if err != nil {
		return nil, Config{}, "", State{}, err
	}
	defer func() {
		if err != nil {
			_ = lock.release()
		}
	}()
	// Only now, holding the lock, may the run's files change: a live run
	// may be writing a checkpoint or lines past the last one.
	if err := removeTemp(path); err != nil {
		return nil, Config{}, "", State{}, err
	}
	if ckpt, st, err = latestCheckpoint(path, log); err != nil {
		return nil, Config{}, "", State{}, err
	}
	y, err := os.ReadFile(file)
	if err != nil {
		return nil, Config{}, "", State{}, err
	}
	if cfg, err = Load(Sources{File: file}); err != nil {
		return nil, Config{}, "", State{}, err
	}
	if st.ConfigSHA256 != "" && st.ConfigSHA256 != sha(y) {
		return nil, Config{}, "", State{}, fmt.Errorf("%s was changed after the checkpoint was written; restore it or start a new run", file)
	}
	if d, err = openLogs(path, y, st.MetricsBytes, st.RolloutsBytes); err != nil {
		return nil, Config{}, "", State{}, err
	}
	d.lock = lock
	return d, cfg, ckpt, st, nil
}

func openLogs(path string, config []byte, metricsSize, rolloutsSize int64) (*runDir, error) {
	m, err := openJSONL(filepath.Join(path, MetricsFile), metricsSize)
	if err != nil {
		return nil, err
	}
	r, err := openJSONL(filepath.Join(path, RolloutsFile), rolloutsSize)
	if err != nil {
		m.close()
		return nil, err
	}
	return &runDir{path: path, configSHA: sha(config), metrics: m, rollouts: r}, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sync flushes and fsyncs both logs and returns their sizes.
func (d *runDir) sync() (metrics, rollouts int64, err error) {
	if metrics, err = d.metrics.sync(); err != nil {
		return 0, 0, err
	}
	rollouts, err = d.rollouts.sync()
	return metrics, rollouts, err
}

// close closes the logs and releases the lock.
func (d *runDir) close() error {
	err := errors.Join(d.metrics.close(), d.rollouts.close())
	if d.lock != nil {
		err = errors.Join(err, d.lock.release())
	}
	return err
}

// writeSummary writes summary.json atomically.
func (d *runDir) writeSummary(v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(d.path, SummaryFile), append(raw, '\n'))
}

// jsonlFile appends JSON lines through a buffer.
type jsonlFile struct {
	f    *os.File
	w    *bufio.Writer
	size int64
}

// openJSONL opens path for appending after truncating it to size; a file
// shorter than size is an error (the log lost lines a checkpoint counted).
func openJSONL(path string, size int64) (*jsonlFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.Size() < size {
		f.Close()
		return nil, fmt.Errorf("%s holds %d bytes but the checkpoint recorded %d: the file was truncated or replaced", path, fi.Size(), size)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(size, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &jsonlFile{f: f, w: bufio.NewWriterSize(f, 1<<16), size: size}, nil
}

// write appends v as one line.
func (j *jsonlFile) write(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	n, err := j.w.Write(raw)
	j.size += int64(n)
	return err
}

// writeRaw appends bytes that already end in a newline.
func (j *jsonlFile) writeRaw(line []byte) error {
	n, err := j.w.Write(line)
	j.size += int64(n)
	return err
}

func (j *jsonlFile) sync() (int64, error) {
	if err := j.w.Flush(); err != nil {
		return 0, err
	}
	return j.size, j.f.Sync()
}

func (j *jsonlFile) close() error {
	return errors.Join(j.w.Flush(), j.f.Close())
}
