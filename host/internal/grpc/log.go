package grpchost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter sends go-plugin's own logging to a *slog.Logger. go-plugin
// logs a lot at debug level (every start, dial and exit); the host reports
// what matters itself, so the adapter is quiet by default: its level is
// Config.HCLogLevel, hclog.Off unless set. The plugin's output never goes
// through it (see lineLogger).
type hclogAdapter struct {
	log   *slog.Logger
	name  string
	level hclog.Level
	args  []any
}

func newHCLog(l *slog.Logger, level hclog.Level) hclog.Logger {
	if level == hclog.NoLevel {
		level = hclog.Off
	}
	return &hclogAdapter{log: l, level: level}
}

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level < a.level || a.level == hclog.Off {
		return
	}
	sl := slog.LevelDebug
	switch {
	case level >= hclog.Error:
		sl = slog.LevelError
	case level == hclog.Warn:
		sl = slog.LevelWarn
	case level == hclog.Info:
		sl = slog.LevelInfo
	}
	all := append(append([]any{"component", "go-plugin." + a.name}, a.args...), args...)
	a.log.Log(context.Background(), sl, msg, all...)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool                 { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool                  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool                  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool                 { return a.enabled(hclog.Error) }
func (a *hclogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hclogAdapter) Name() string                  { return a.name }
func (a *hclogAdapter) SetLevel(l hclog.Level)        { a.level = l }
func (a *hclogAdapter) GetLevel() hclog.Level         { return a.level }

func (a *hclogAdapter) enabled(l hclog.Level) bool { return a.level != hclog.Off && l >= a.level }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any{}, a.args...), args...)
	return &c
}

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		a.Info(strings.TrimRight(string(p), "\n"))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// lineLogger is an io.Writer that logs each line written to it: the
// plugin's stderr, and the stdout and stderr that Go plugins forward over
// go-plugin's stdio stream. A line that is an hclog JSON entry (what
// sdk/serve and go-plugin write) is logged at its own level with its
// message and fields; any other line at Info, as is. A line longer than
// maxLine is logged in pieces.
type lineLogger struct {
	log    *slog.Logger
	stream string

	mu  sync.Mutex
	buf []byte
}

const maxLine = 64 << 10

func newLineLogger(l *slog.Logger, stream string) *lineLogger {
	return &lineLogger{log: l, stream: stream}
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLine {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[:copy(w.buf, w.buf[i+1:])]
	}
}

func (w *lineLogger) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return
	}
	if line[0] == '{' {
		var entry map[string]any
		if json.Unmarshal(line, &entry) == nil {
			if msg, ok := entry["@message"].(string); ok {
				level := slog.LevelInfo
				switch entry["@level"] {
				case "trace", "debug":
					level = slog.LevelDebug
				case "warn":
					level = slog.LevelWarn
				case "error":
					level = slog.LevelError
				}
				args := []any{"stream", w.stream}
				for _, k := range slices.Sorted(maps.Keys(entry)) {
					if !strings.HasPrefix(k, "@") {
						args = append(args, k, fmt.Sprint(entry[k]))
					}
				}
				w.log.Log(context.Background(), level, msg, args...)
				return
			}
		}
	}
	w.log.Info(string(line), "stream", w.stream)
}

var _ hclog.Logger = (*hclogAdapter)(nil)
