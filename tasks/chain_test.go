package tasks

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// TestFlawedChains: flawed chains verify with the first slip as their
// first error and a wrong answer, at about the requested per-step rate.
func TestFlawedChains(t *testing.T) {
	for _, family := range Families() {
		t.Run(family, func(t *testing.T) {
			ts, err := Generate(family, 300, 2, DefaultDifficulty)
			require.NoError(t, err)
			r := rand.New(rand.NewPCG(1, 1))
			var steps, slipped int
			firsts := map[int]int{}
			for _, tk := range ts {
				c, err := Flawed(tk, r, 0.1)
				require.NoError(t, err)
				v := Verify(&abi.VerifyRequest{Task: tk, Response: c.Text()})
				require.Equal(t, c.FirstError(), *v.FirstError, c.Text())
				if c.FirstError() > 0 {
					require.Equal(t, 0.0, v.Score, "slips must end in a wrong answer: %s", c.Text())
				} else {
					require.Equal(t, 1.0, v.Score)
				}
				steps += len(c.Steps)
				slipped += len(c.Slips)

				u, err := FlawedFirstUniform(tk, r, 0.1)
				require.NoError(t, err)
				v = Verify(&abi.VerifyRequest{Task: tk, Response: u.Text()})
				require.Positive(t, u.FirstError())
				require.Equal(t, u.FirstError(), *v.FirstError, u.Text())
				require.Equal(t, 0.0, v.Score)
				firsts[u.FirstError()]++
			}
			rate := float64(slipped) / float64(steps)
			require.InDelta(t, 0.1, rate, 0.04, "per-step slip rate")
			n := len(Solve(t, ts[0]))
			require.Len(t, firsts, n, "the first error of FlawedFirstUniform covers every step: %v", firsts)
		})
	}
}

// Solve returns the reference step texts of a task.
func Solve(t *testing.T, tk abi.Task) []string {
	t.Helper()
	p, err := decodeProblem(tk.Meta)
	require.NoError(t, err)
	return stepTexts(p.solve(correct))
}

func TestFlawedBadMeta(t *testing.T) {
	_, err := Flawed(abi.Task{ID: "x"}, rand.New(rand.NewPCG(1, 1)), 0.5)
	require.ErrorContains(t, err, `task "x"`)
}
