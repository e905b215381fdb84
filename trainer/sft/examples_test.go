package sft

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

func TestExamples(t *testing.T) {
	for _, family := range tasks.Families() {
		t.Run(family, func(t *testing.T) {
			const n, errorRate, loc = 400, 0.1, 0.25
			exs, err := Examples(family, n, 9, tasks.DefaultDifficulty, errorRate, loc)
			require.NoError(t, err)
			again, err := Examples(family, n, 9, tasks.DefaultDifficulty, errorRate, loc)
			require.NoError(t, err)
			require.Equal(t, exs, again)

			ts, err := tasks.Generate(family, n, 9, tasks.DefaultDifficulty)
			require.NoError(t, err)
			var nLoc, flawed int
			for i, ex := range exs {
				require.Equal(t, ts[i].ID, ex.TaskID)
				switch ex.Kind {
				case KindLocalize:
					nLoc++
					require.Equal(t, `\boxed{`+itoa(ex.FirstError)+`}`, ex.Completion)
					// The parser of the trainer reads the completion back.
					k, _, fb := localize.Parse(ex.Completion, 10)
					require.Equal(t, ex.FirstError, k)
					require.Empty(t, fb)
					require.True(t, strings.HasPrefix(ex.Prompt, "Problem: "+ts[i].Prompt+"\n"), ex.Prompt)
				case KindSolve:
					require.Equal(t, ts[i].Prompt, ex.Prompt)
					v := tasks.Verify(&abi.VerifyRequest{Task: ts[i], Response: ex.Completion})
					require.Equal(t, ex.FirstError, *v.FirstError, ex.Completion)
					if ex.FirstError == 0 {
						require.Equal(t, 1.0, v.Score)
					} else {
						require.Equal(t, 0.0, v.Score, "a flawed demonstration ends wrong: %s", ex.Completion)
						flawed++
					}
				default:
					t.Fatalf("kind %q", ex.Kind)
				}
			}
			require.Equal(t, n/4, nLoc, "exactly a quarter are localization examples")
			// With 3 steps slipping at 0.1 each, about 1-0.9^3 = 27% of the
			// demonstrations are flawed (fewer where a step admits no slip).
			require.InDelta(t, 0.25, float64(flawed)/float64(n-nLoc), 0.1)
		})
	}
}

// TestLocalizationPromptIsTheTrainers: the localization examples show the
// prompt that the self localizer renders at training time for the same
// failed trajectory, so the warm-started skill transfers.
func TestLocalizationPromptIsTheTrainers(t *testing.T) {
	ts, err := tasks.Generate("lin", 5, 3, 3)
	require.NoError(t, err)
	self, err := localize.NewSelf(stubPolicy{}, LocalizeConfig(data.TemplatePlain))
	require.NoError(t, err)
	for i, tk := range ts {
		c, err := tasks.FlawedFirstUniform(tk, rand.New(rand.NewPCG(1, uint64(i))), 0.2)
		require.NoError(t, err)
		require.Positive(t, c.FirstError())
		want := self.Prompt(&localize.Request{Task: tk, Response: c.Text(), Steps: c.Steps})
		require.Equal(t, want, LocalizationPrompt(tk.Prompt, c.Steps))
	}
	exs, err := Examples("lin", 5, 3, 3, 0.2, 1)
	require.NoError(t, err)
	for _, ex := range exs {
		require.Equal(t, KindLocalize, ex.Kind)
		require.Contains(t, ex.Prompt, "First wrong step (1-5):")
	}
}

// stubPolicy satisfies localize.Generator; the prompt test never samples.
type stubPolicy struct{}

func (stubPolicy) Tokenizer() tokenizer.Tokenizer { return nil }
func (stubPolicy) Generate(context.Context, []engine.GenRequest) ([]engine.GenResult, error) {
	return nil, errors.New("not used")
}

func itoa(v int) string { return strconv.Itoa(v) }

func TestExamplesErrors(t *testing.T) {
	for name, call := range map[string]func() error{
		"error rate":     func() error { _, err := Examples("sum", 1, 1, 2, 1.5, 0); return err },
		"loc fraction":   func() error { _, err := Examples("sum", 1, 1, 2, 0, -0.1); return err },
		"unknown family": func() error { _, err := Examples("div", 1, 1, 2, 0, 0); return err },
	} {
		t.Run(name, func(t *testing.T) { require.Error(t, call()) })
	}
}
