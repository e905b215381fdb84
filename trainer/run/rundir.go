package run

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rewind-rl/rewind/internal/atomicfile"
)

// Files of a run directory.
const (
	ConfigFile   = "config.yaml"
	MetricsFile  = "metrics.jsonl"
	RolloutsFile = "rollouts.jsonl"
	SummaryFile  = "summary.json"
)

// runDir is an open run directory: the resolved config and the two JSONL
// logs, appended to one step at a time.
type runDir struct {
	path      string
	configSHA string
	metrics   *jsonlFile
	rollouts  *jsonlFile
}

// createRunDir makes a new run directory holding cfg's resolved config.
// It refuses a directory that already holds a run.
func createRunDir(path string, cfg Config) (*runDir, error) {
	if _, err := os.Stat(filepath.Join(path, ConfigFile)); err == nil {
		return nil, fmt.Errorf("run directory %s already holds a run: resume it with `rewind train --resume %s`, or choose another run.dir", path, path)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
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
	return openLogs(path, y, 0, 0)
}

// openRunDir opens an existing run for resuming: it reads the resolved
// config and truncates the logs to the sizes recorded in st (zero when no
// checkpoint was completed).
func openRunDir(path string, st State) (*runDir, Config, error) {
	file := filepath.Join(path, ConfigFile)
	y, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, Config{}, fmt.Errorf("%s is not a run directory (no %s)", path, ConfigFile)
	}
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := Load(Sources{File: file})
	if err != nil {
		return nil, Config{}, err
	}
	if st.ConfigSHA256 != "" && st.ConfigSHA256 != sha(y) {
		return nil, Config{}, fmt.Errorf("%s was changed after the checkpoint was written; restore it or start a new run", file)
	}
	d, err := openLogs(path, y, st.MetricsBytes, st.RolloutsBytes)
	return d, cfg, err
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

func (d *runDir) close() error {
	return errors.Join(d.metrics.close(), d.rollouts.close())
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
