package sft

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/tasks"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// scripted is a policy that answers each prompt with a fixed text.
type scripted struct {
	engine.Policy // only Tokenizer and Generate are used
	tok           tokenizer.Tokenizer
	answers       map[string]string
}

func (s scripted) Tokenizer() tokenizer.Tokenizer { return s.tok }

func (s scripted) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	out := make([]engine.GenResult, len(reqs))
	for i, r := range reqs {
		out[i] = engine.GenResult{Text: s.answers[s.tok.Decode(r.Prompt)] + tokenizer.EndOfText}
	}
	return out, nil
}

// TestSelfExamples checks that the second stage labels each own failure
// with the verifier's first error, in the self localizer's prompt, and
// skips correct solutions and those that stop early with no wrong step.
func TestSelfExamples(t *testing.T) {
	tok, err := tokenizer.NewChar(Alphabet, Specials)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Family, cfg.Difficulty, cfg.Out = "lin", 2, "unused"
	cfg.Self = SelfConfig{Steps: 1, Tasks: 30, Samples: 2, Mix: 0.5}
	ts, err := tasks.Generate("lin", cfg.Self.Tasks, cfg.Seed, cfg.Difficulty)
	require.NoError(t, err)

	s := scripted{tok: tok, answers: map[string]string{}}
	r := rand.New(rand.NewPCG(3, 4))
	var wantPrompts []string
	var wantFirst []int
	wantCorrect := 0
	for i, tk := range ts {
		prompt := cfg.Template.Render(tk.Prompt)
		switch i % 3 {
		case 0:
			sol, err := tasks.Solution(tk)
			require.NoError(t, err)
			s.answers[prompt] = sol
			wantCorrect += cfg.Self.Samples
		case 1:
			c, err := tasks.FlawedFirstUniform(tk, r, 0)
			require.NoError(t, err)
			require.Positive(t, c.FirstError())
			s.answers[prompt] = c.Text()
			for range cfg.Self.Samples {
				wantPrompts = append(wantPrompts, localizationPrompt(cfg.Template.Kind, tk.Prompt, c.Steps))
				wantFirst = append(wantFirst, c.FirstError())
			}
		default: // the first step only, right: stopped early, nothing to localize
			sol, err := tasks.Solution(tk)
			require.NoError(t, err)
			s.answers[prompt] = stepStrings(sol)[0]
		}
	}
	var rep Report
	seqs, firsts, err := selfExamples(context.Background(), s, cfg, tok, &rep)
	require.NoError(t, err)
	require.Equal(t, len(ts)*cfg.Self.Samples, rep.SelfSamples)
	require.Equal(t, wantCorrect, rep.SelfCorrect)
	require.Len(t, seqs, len(wantPrompts))
	require.Equal(t, len(seqs), rep.SelfFailures)
	hist := 0
	for i, sq := range seqs {
		require.Equal(t, wantFirst[i], firsts[i])
		p := tok.Encode(wantPrompts[i])
		require.Equal(t, wantPrompts[i], tok.Decode(sq.Tokens[:len(p)]))
		require.Equal(t, `\boxed{`+strconv.Itoa(wantFirst[i])+`}`+tokenizer.EndOfText, tok.Decode(sq.Tokens[len(p):]))
		for j, w := range sq.Weights {
			require.Equal(t, float32(map[bool]int{true: 1}[j >= len(p)]), w, "weight %d of example %d", j, i)
		}
	}
	for _, c := range rep.SelfFirstErrors {
		hist += c
	}
	require.Equal(t, len(seqs), hist)
}
