package tasks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestSFTExamples(t *testing.T) {
	for _, family := range Families() {
		t.Run(family, func(t *testing.T) {
			const n, errorRate, loc = 400, 0.1, 0.25
			exs, err := SFTExamples(family, n, 9, DefaultDifficulty, errorRate, loc)
			require.NoError(t, err)
			again, err := SFTExamples(family, n, 9, DefaultDifficulty, errorRate, loc)
			require.NoError(t, err)
			require.Equal(t, exs, again)

			ts, err := Generate(family, n, 9, DefaultDifficulty)
			require.NoError(t, err)
			var nLoc, slipped int
			for i, ex := range exs {
				require.Equal(t, ts[i].ID, ex.TaskID)
				switch ex.Kind {
				case "localize":
					nLoc++
					require.Equal(t, boxed(itoa(int64(ex.FirstError))), ex.Completion)
					// The chain shown in the prompt verifies with that first error.
					lines := strings.Split(strings.TrimSuffix(ex.Prompt, "\n"), "\n")
					require.Equal(t, "Find the first wrong step.", lines[0])
					require.Equal(t, ts[i].Prompt, lines[1])
					v := Verify(&abi.VerifyRequest{Task: ts[i], Response: strings.Join(lines[2:], Delimiter) + Delimiter})
					require.Equal(t, ex.FirstError, *v.FirstError, ex.Prompt)
					require.Equal(t, 0.0, v.Score)
				case "solve":
					require.Equal(t, ts[i].Prompt, ex.Prompt)
					v := Verify(&abi.VerifyRequest{Task: ts[i], Response: ex.Completion})
					require.Equal(t, ex.FirstError, *v.FirstError, ex.Completion)
					if ex.FirstError == 0 {
						require.Equal(t, 1.0, v.Score)
					} else {
						slipped++
					}
				default:
					t.Fatalf("kind %q", ex.Kind)
				}
			}
			require.Equal(t, n/4, nLoc, "exactly a quarter are localization examples")
			// A chain is flawed when any of its steps slips: with 3 steps
			// at rate 0.1 about 27% are (fewer where a step admits no slip).
			frac := float64(slipped) / float64(n-nLoc)
			require.InDelta(t, 0.25, frac, 0.1, "flawed demonstrations")
		})
	}
}

func TestSFTExamplesCleanAndAllLocalize(t *testing.T) {
	clean, err := SFTExamples("mul", 50, 1, 2, 0, 0)
	require.NoError(t, err)
	for _, ex := range clean {
		require.Equal(t, "solve", ex.Kind)
		require.Zero(t, ex.FirstError)
	}
	loc, err := SFTExamples("lin", 50, 1, 3, 0, 1)
	require.NoError(t, err)
	firsts := map[int]int{}
	for _, ex := range loc {
		require.Equal(t, "localize", ex.Kind)
		firsts[ex.FirstError]++
	}
	// lin at difficulty 3 has 5 steps; the first error is spread over them.
	require.Len(t, firsts, 5, "first errors: %v", firsts)
}

func TestLocalizationPrompt(t *testing.T) {
	got := LocalizationPrompt("Add 1+2+3", []string{"Step 1: 1+2=4</thought>", " 4+3=\\boxed{7} "})
	require.Equal(t, "Find the first wrong step.\nAdd 1+2+3\nStep 1: 1+2=4\nStep 2: 4+3=\\boxed{7}\n", got)
}
