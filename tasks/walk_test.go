package tasks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWalkLayout: each move's prompt line is exactly as wide in tokens as
// the solution step that makes it (the step's `</thought>` is one token,
// the line's newline one character), so the move that step k reads is at
// the same distance before it for every k; the last step is wider only by
// its \boxed{}.
func TestWalkLayout(t *testing.T) {
	for d := MinDifficulty; d <= MaxDifficulty; d++ {
		ts, err := Generate("walk", 50, 3, d)
		require.NoError(t, err)
		for _, tk := range ts {
			lines := strings.Split(tk.Prompt, "\n")
			steps := Solve(t, tk)
			require.Len(t, lines, len(steps)+1, tk.Prompt)
			require.Len(t, steps, d+2)
			for k, step := range steps {
				width := len(step) - len(Delimiter) + 1
				if k == len(steps)-1 {
					width -= len(boxed(""))
				}
				require.Equal(t, len(lines[k+1])+1, width, "line %q vs step %q", lines[k+1], step)
				// The line shows the move and hides both positions.
				move := strings.TrimSuffix(strings.SplitN(lines[k+1], "?", 2)[1], "=?")
				require.Contains(t, step, move+"=")
			}
		}
	}
}

func TestWalkDecodeErrors(t *testing.T) {
	for meta, want := range map[string]string{
		`{"family":"walk","start":10,"moves":[1]}`:      `"start"`,
		`{"family":"walk","start":-1,"moves":[1]}`:      `"start"`,
		`{"family":"walk","start":3,"moves":[]}`:        `"moves"`,
		`{"family":"walk","start":3,"moves":[1,0]}`:     `"moves"[1]`,
		`{"family":"walk","start":3,"moves":[5]}`:       `"moves"[0]`,
		`{"family":"walk","start":3,"moves":[-12]}`:     `"moves"[0]`,
		`{"family":"walk","start":3,"moves":[1],"x":1}`: `unknown field`,
	} {
		_, err := decodeProblem([]byte(meta))
		require.ErrorContains(t, err, want, meta)
	}
}
