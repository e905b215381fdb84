package rollout

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// stepPolicy answers the n-th step call of a request (n = steps already
// before it) with steps[n], truncated to MaxNewTokens; the last listed
// step ends with the test's stop reason.
type stepPolicy struct {
	steps   []string
	reason  engine.StopReason
	prefixs [][]int
	base    int
}

func (s *stepPolicy) Tokenizer() tokenizer.Tokenizer { return byteTok{} }
func (s *stepPolicy) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	out := make([]engine.GenResult, len(reqs))
	for i, r := range reqs {
		// The step index: delimiters in the first call's prefix plus the
		// calls made since (one job per test).
		if len(s.prefixs) == 0 {
			for _, id := range r.Prefix {
				if id == '|' {
					s.base++
				}
			}
		}
		n := s.base + len(s.prefixs)
		s.prefixs = append(s.prefixs, r.Prefix)
		text := ""
		if n < len(s.steps) {
			text = s.steps[n]
		}
		ids := byteTok{}.Encode(text)
		reason := engine.StopString
		if n == len(s.steps)-1 {
			reason = s.reason
		}
		if len(ids) > r.Sampling.MaxNewTokens {
			ids, reason = ids[:r.Sampling.MaxNewTokens], engine.StopLength
		}
		out[i] = engine.GenResult{Tokens: ids, Text: byteTok{}.Decode(ids), LogProbs: make([]float32, len(ids)), Reason: reason}
	}
	return out, nil
}

func TestGenerateThought(t *testing.T) {
	tests := []struct {
		name   string
		steps  []string
		reason engine.StopReason
		edit   func(*Config)
		prefix []int
		want   []algo.Span
		text   string
	}{
		{name: "answer ends", steps: []string{"ab|", "c \\boxed{1}|", "never|"}, reason: engine.StopString,
			want: []algo.Span{{Start: 0, End: 3}, {Start: 3, End: 15}}, text: "ab|c \\boxed{1}|"},
		{name: "max steps", steps: []string{"a|", "b|", "c|", "d|"}, reason: engine.StopString,
			edit: func(c *Config) { c.MaxSteps = 3 },
			want: []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 4}, {Start: 4, End: 6}}, text: "a|b|c|"},
		// Steps of 4 tokens (cut by StepTokens); after two, 2 tokens are
		// left of 10 < 4: the next step might not fit.
		{name: "next step might not fit", steps: []string{"aaaaaa|", "bbbbbb|", "cc|"}, reason: engine.StopString,
			edit: func(c *Config) { c.StepTokens, c.MaxTokens = 4, 10 },
			want: []algo.Span{{Start: 0, End: 4}, {Start: 4, End: 8}}, text: "aaaabbbb"},
		{name: "empty step", steps: []string{"a|", " |", "b|"}, reason: engine.StopString,
			want: []algo.Span{{Start: 0, End: 2}}, text: "a| |"},
		{name: "eos", steps: []string{"a|", "b"}, reason: engine.StopToken,
			want: []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 3}}, text: "a|b"},
		// A reset continues from the prefix's token ids and step count.
		{name: "from prefix", steps: []string{"a|", "b|", "c \\boxed{2}|"}, reason: engine.StopString,
			prefix: []int{'a', '|', 'b', '|'},
			want:   []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 4}, {Start: 4, End: 16}}, text: "a|b|c \\boxed{2}|"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := DefaultConfig(algo.VariantGRPO)
			require.NoError(t, err)
			cfg.Delimiter = "|"
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			pol := &stepPolicy{steps: tc.steps, reason: tc.reason}
			r, err := New(cfg, Options{Policy: pol, Verifier: fakeVerifier{}})
			require.NoError(t, err)
			j := &job{prompt: []int{1}}
			if tc.prefix != nil {
				j.tokens, j.prefix = tc.prefix, len(tc.prefix)
				j.steps = []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}
			}
			finished := 0
			j.done = func(*job) { finished++ }
			_, err = r.generate(context.Background(), []*job{j})
			require.NoError(t, err)
			require.Equal(t, 1, finished)
			require.Equal(t, tc.want, j.steps)
			require.Equal(t, tc.text, j.text)
			if tc.prefix != nil {
				require.Equal(t, tc.prefix, pol.prefixs[0], "the first call continues from the prefix ids")
			}
		})
	}
}

func TestTokenSpans(t *testing.T) {
	// Tokens "ab", "c", "de", "f": byte boundaries 0 2 3 5 6.
	off := []int{0, 2, 3, 5, 6}
	tests := []struct {
		name  string
		spans []abi.Span
		want  []algo.Span
	}{
		{"aligned", []abi.Span{{Start: 0, End: 3}, {Start: 3, End: 6}}, []algo.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}},
		// Step 1 ends inside "de": it takes "de"; step 2 starts after it.
		{"straddling token goes to the earlier step", []abi.Span{{Start: 0, End: 4}, {Start: 4, End: 6}}, []algo.Span{{Start: 0, End: 3}, {Start: 3, End: 4}}},
		// A step wholly inside the previous step's last token is merged.
		{"swallowed step", []abi.Span{{Start: 0, End: 4}, {Start: 4, End: 5}, {Start: 5, End: 6}}, []algo.Span{{Start: 0, End: 3}, {Start: 3, End: 4}}},
		{"gap between steps", []abi.Span{{Start: 0, End: 2}, {Start: 3, End: 6}}, []algo.Span{{Start: 0, End: 1}, {Start: 2, End: 4}}},
		{"start inside a token", []abi.Span{{Start: 1, End: 6}}, []algo.Span{{Start: 0, End: 4}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tokenSpans(off, tc.spans))
		})
	}
}

// multiTok has two-byte tokens 300+ (for "ab" etc.) to test offsets, and
// decodes an unpaired UTF-8 lead byte (id 0xC3) as U+FFFD.
type multiTok struct{ byteTok }

func (multiTok) TokenBytes(id int) []byte {
	if id >= 300 {
		return []byte{byte(id - 300 + 'a'), byte(id - 300 + 'b')}
	}
	return []byte{byte(id)}
}
func (m multiTok) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		b = append(b, m.TokenBytes(id)...)
	}
	return string([]rune(string(b)))
}

func TestByteOffsets(t *testing.T) {
	tok := multiTok{}
	ids := []int{300, 'c', 302}
	require.Equal(t, []int{0, 2, 3, 5}, byteOffsets(tok, ids, tok.Decode(ids)))
	// 0xC3 alone decodes to U+FFFD (3 bytes): offsets follow the decoded
	// prefixes.
	ids = []int{'a', 0xC3, 'b'}
	text := tok.Decode(ids)
	require.Equal(t, "a\uFFFDb", text)
	require.Equal(t, []int{0, 1, 4, 5}, byteOffsets(tok, ids, text))
}
