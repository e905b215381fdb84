package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/schollz/progressbar/v3"
)

// progress reports finished steps: a bar on a terminal, plain log lines
// otherwise (a bar's carriage returns make CI logs unreadable).
type progress interface {
	step(done int, summary string)
	finish()
}

// newProgress picks the output for run.log: auto (bar when terminal),
// bar, plain or none.
func newProgress(mode string, w io.Writer, terminal bool, log *slog.Logger, total, done int) progress {
	if mode == "auto" {
		mode = "plain"
		if terminal && w != nil {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		if w == nil {
			return noProgress{}
		}
		bar := progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("train"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		_ = bar.Set(done)
		return &barProgress{bar: bar}
	case "plain":
		return &plainProgress{log: log, total: total}
	}
	return noProgress{}
}

// quietWhileBar keeps Info lines from breaking a progress bar's line:
// with a bar, only warnings and errors are logged.
func quietWhileBar(p progress, log *slog.Logger) *slog.Logger {
	if _, ok := p.(*barProgress); ok {
		return slog.New(minLevel{log.Handler(), slog.LevelWarn})
	}
	return log
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(as), m.min}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.min}
}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b *barProgress) step(done int, summary string) {
	b.bar.Describe(summary)
	_ = b.bar.Set(done)
}
func (b *barProgress) finish() { _ = b.bar.Finish() }

type plainProgress struct {
	log   *slog.Logger
	total int
}

func (p *plainProgress) step(done int, summary string) {
	p.log.Info("step", "step", done, "of", p.total, "summary", summary)
}
func (p *plainProgress) finish() {}

type noProgress struct{}

func (noProgress) step(int, string) {}
func (noProgress) finish()          {}
