package run

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProgressModes(t *testing.T) {
	tests := []struct {
		mode     string
		terminal bool
		want     string // type of progress
	}{
		{"auto", false, "*run.plainProgress"},
		{"auto", true, "*run.barProgress"},
		{"bar", false, "*run.barProgress"},
		{"plain", true, "*run.plainProgress"},
		{"none", true, "run.noProgress"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			var out, logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			p := newProgress(tt.mode, &out, tt.terminal, log, 4, 1)
			require.Equal(t, tt.want, typeName(p))
			p.step(2, "reward 0.5")
			p.finish()
			switch tt.want {
			case "*run.barProgress":
				require.Contains(t, out.String(), "(2/4)")
				require.Contains(t, out.String(), "reward 0.5")
				// Info lines would break the bar's line; warnings still show.
				q := quietWhileBar(p, log)
				require.False(t, q.Enabled(context.Background(), slog.LevelInfo))
				require.True(t, q.Enabled(context.Background(), slog.LevelWarn))
			case "*run.plainProgress":
				require.Empty(t, out.String())
				require.Contains(t, logs.String(), `msg=step step=2 of=4 summary="reward 0.5"`)
			default:
				require.Empty(t, out.String()+logs.String())
			}
		})
	}
}

func typeName(v any) string { return reflect.TypeOf(v).String() }
