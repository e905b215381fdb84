package tasks

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// TestCarriedLayout: in walk and cups each operation's prompt line is
// exactly as wide in tokens as the solution step that makes it (the
// step's `</thought>` is one token, the line's newline one character), so
// the operation that step k reads is at the same distance before it for
// every k; the last step is wider only by its \boxed{}.
func TestCarriedLayout(t *testing.T) {
	for _, family := range []string{"walk", "cups"} {
		for d := MinDifficulty; d <= MaxDifficulty; d++ {
			testLayout(t, family, d)
		}
	}
}

func testLayout(t *testing.T, family string, d int) {
	t.Helper()
	{
		ts, err := Generate(family, 50, 3, d)
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
				// The line shows the operation and hides both positions.
				op := strings.TrimSuffix(strings.SplitN(lines[k+1], "?", 2)[1], "=?")
				require.Contains(t, step, op+"=")
				require.Equal(t, 2, strings.Count(lines[k+1], "?"), lines[k+1])
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

func TestCupsDecodeErrors(t *testing.T) {
	for meta, want := range map[string]string{
		`{"family":"cups","cups":1,"start":1,"swaps":[[1,2]]}`:       `"cups"`,
		`{"family":"cups","cups":5,"start":6,"swaps":[[1,2]]}`:       `"start"`,
		`{"family":"cups","cups":5,"start":0,"swaps":[[1,2]]}`:       `"start"`,
		`{"family":"cups","cups":5,"start":1,"swaps":[]}`:            `"swaps"`,
		`{"family":"cups","cups":5,"start":1,"swaps":[[1,2],[3,3]]}`: `"swaps"[1]`,
		`{"family":"cups","cups":5,"start":1,"swaps":[[1,6]]}`:       `"swaps"[0]`,
		`{"family":"cups","cups":5,"start":1,"swaps":[[1,2]],"x":1}`: `unknown field`,
	} {
		_, err := decodeProblem([]byte(meta))
		require.ErrorContains(t, err, want, meta)
	}
}

// TestCarriedStateDerails: in walk and cups one wrong step makes every
// later step wrong, whichever step it is (the state is carried, and each
// operation is one-to-one), so the answer cannot be right after a slip.
func TestCarriedStateDerails(t *testing.T) {
	for _, family := range []string{"walk", "cups"} {
		ts, err := Generate(family, 100, 9, MaxDifficulty)
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(3, 4))
		for _, tk := range ts {
			c, err := FlawedFirstUniform(tk, r, 0)
			require.NoError(t, err)
			require.Len(t, c.Slips, 1)
			v := Verify(&abi.VerifyRequest{Task: tk, Response: c.Text()})
			for i, ok := range v.StepCorrect {
				require.Equal(t, i+1 < c.FirstError(), ok, "%s step %d: %s", family, i+1, c.Text())
			}
		}
	}
}

// TestCarriedFitsTheTinyContext: at every difficulty a walk or cups task's
// prompt, the plain template's newline, its solution and the end-of-text
// token fit the 256 positions the warm start gives the tiny model
// (`</thought>` is one token of its character tokenizer).
func TestCarriedFitsTheTinyContext(t *testing.T) {
	for _, family := range []string{"walk", "cups"} {
		ts, err := Generate(family, 50, 5, MaxDifficulty)
		require.NoError(t, err)
		for _, tk := range ts {
			sol, err := Solution(tk)
			require.NoError(t, err)
			tokens := len(tk.Prompt) + 1 + len(sol) - (len(Delimiter)-1)*strings.Count(sol, Delimiter) + 1
			require.LessOrEqual(t, tokens, 256, "%s: %s", family, tk.Prompt)
		}
	}
}
