package decode

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// letters decodes token i as the letter 'a'+i.
func letters(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteByte(byte('a' + id))
	}
	return b.String()
}

func TestStreamStops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      engine.Sampling
		prompt int // prompt length
		window int
		toks   []int
		want   engine.StopReason
		n      int // tokens taken before Done
	}{
		{"length", engine.Sampling{MaxNewTokens: 3}, 2, 100, []int{0, 1, 2, 3}, engine.StopLength, 3},
		{"stop token wins over length", engine.Sampling{MaxNewTokens: 2, StopTokens: []int{1}}, 2, 100, []int{0, 1}, engine.StopToken, 2},
		{"stop string across tokens", engine.Sampling{MaxNewTokens: 9, StopStrings: []string{"cd"}}, 2, 100, []int{0, 2, 3, 4}, engine.StopString, 3},
		{"stop string wins over window", engine.Sampling{MaxNewTokens: 9, StopStrings: []string{"b"}}, 2, 4, []int{0, 1}, engine.StopString, 2},
		{"window", engine.Sampling{MaxNewTokens: 9}, 2, 4, []int{0, 0, 0}, engine.StopWindow, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := engine.GenRequest{Prompt: make([]int, tc.prompt), Sampling: tc.s}
			s := Start(r, tc.window)
			require.False(t, s.Done)
			n := 0
			for _, tok := range tc.toks {
				if s.Done {
					break
				}
				s.Add(tok, -0.5, 1.25, []byte(letters([]int{tok})))
				n++
			}
			require.True(t, s.Done)
			require.Equal(t, tc.n, n)
			res := s.Result(letters)
			require.Equal(t, tc.want, res.Reason)
			require.Equal(t, tc.toks[:n], res.Tokens)
			require.Equal(t, letters(tc.toks[:n]), res.Text, "the stop text is kept")
			require.Len(t, res.LogProbs, n)
			require.Len(t, res.Entropies, n)
			require.Equal(t, tc.prompt+n, s.CtxLen)
		})
	}
}

func TestStartFullWindow(t *testing.T) {
	s := Start(engine.GenRequest{Prompt: []int{1, 2}, Prefix: []int{3}, Sampling: engine.Sampling{MaxNewTokens: 5}}, 3)
	require.True(t, s.Done)
	res := s.Result(func([]int) string { panic("nothing to decode") })
	require.Equal(t, engine.GenResult{Tokens: []int{}, LogProbs: []float32{}, Entropies: []float32{}, Reason: engine.StopWindow}, res)
}

func TestStreamRandDependsOnSeedOnly(t *testing.T) {
	a := Start(engine.GenRequest{Prompt: []int{1}, Seed: 7, Sampling: engine.Sampling{MaxNewTokens: 1}}, 10)
	b := Start(engine.GenRequest{Prompt: []int{2, 3, 4}, Seed: 7, Sampling: engine.Sampling{MaxNewTokens: 9, Temperature: 1}}, 99)
	c := Start(engine.GenRequest{Prompt: []int{1}, Seed: 8, Sampling: engine.Sampling{MaxNewTokens: 1}}, 10)
	x, y, z := a.Rand.Uint64(), b.Rand.Uint64(), c.Rand.Uint64()
	require.Equal(t, x, y)
	require.NotEqual(t, x, z)
}
