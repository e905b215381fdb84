package localize

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		n        int
		step     int
		answer   int
		fallback string
	}{
		{"boxed in range", `Step 2 looks fine. The error is in step 3.\n\boxed{3}`, 5, 3, 3, ""},
		{"last boxed wins", `\boxed{1} ... on reflection \boxed{4}`, 5, 4, 4, ""},
		{"spaces", `\boxed{ 2 }`, 5, 2, 2, ""},
		{"nested braces", `\boxed{\text{2}}`, 5, 1, -1, FallbackDefault},
		{"nested braces with mention", `Step 4 is wrong: \boxed{\text{Step 4}}`, 5, 4, -1, FallbackStepMention},
		{"unbalanced last skipped", `\boxed{2} then \boxed{3`, 5, 2, 2, ""},
		{"zero means no error", `all steps fine \boxed{0}`, 5, 1, 0, FallbackNoError},
		{"negative", `\boxed{-2}`, 5, 1, -2, FallbackBelowRange},
		{"above range uses mention", `Step 2 derails. \boxed{9}`, 5, 2, 9, FallbackStepMention},
		{"above range, mention out of range", `step 7 \boxed{9}`, 5, 1, 9, FallbackDefault},
		// The LAST mention counts, even if an earlier one is in range.
		{"last mention only", `Step 2 is fine but STEP 8 is not`, 5, 1, -1, FallbackDefault},
		{"mention without boxed", `I think step3 is where it goes wrong, not Step 4... no, step 3`, 5, 3, -1, FallbackStepMention},
		{"nothing", `I cannot tell.`, 5, 1, -1, FallbackDefault},
		{"non-integer boxed", `\boxed{two}`, 5, 1, -1, FallbackDefault},
		{"empty", ``, 1, 1, -1, FallbackDefault},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.ReplaceAll(tc.text, `\n`, "\n")
			step, answer, fb := Parse(text, tc.n)
			require.Equal(t, tc.step, step)
			require.Equal(t, tc.answer, answer)
			require.Equal(t, tc.fallback, fb)
		})
	}
}

func TestLastBoxed(t *testing.T) {
	got, ok := LastBoxed(`a \boxed{x{y}z} b`)
	require.True(t, ok)
	require.Equal(t, "x{y}z", got)
	_, ok = LastBoxed(`\boxed{`)
	require.False(t, ok)
}

func TestRender(t *testing.T) {
	got := Render("P={{problem}}\n{{steps}}\nn={{n}}", "<u>{{content}}</u>", []string{"<thought>", "</thought>"},
		"2+2?", []string{"<thought> add 2 and 2</thought>", "\n\\boxed{5}</thought>"})
	require.Equal(t, "<u>P=2+2?\nStep 1: add 2 and 2\nStep 2: \\boxed{5}\nn=2</u>", got)

	def := Render(DefaultTemplate, PlaceholderContent, nil, "What is 2+2?", []string{"a", "b", "c"})
	for _, want := range []string{"What is 2+2?", "Step 1: a\nStep 2: b\nStep 3: c", "wrong", "originates", "Do not re-solve", `\boxed{N}`, "between 1 and 3"} {
		require.Contains(t, def, want)
	}
	require.NotContains(t, def, "{{")

	// Steps that carry their own label are not labelled twice.
	labelled := Render("{{steps}}", PlaceholderContent, []string{"</thought>"}, "p",
		[]string{"Step 1: 3+4=7</thought>", "Step 2:  7*2=14</thought>", "Step two: x</thought>"})
	require.Equal(t, "Step 1: 3+4=7\nStep 2: 7*2=14\nStep 3: Step two: x", labelled)
}

func TestSelfConfigValidate(t *testing.T) {
	require.NoError(t, DefaultSelfConfig().Validate())
	err := SelfConfig{Template: "x", Temperature: -1, TopP: 2}.Validate()
	for _, w := range []string{"missing the placeholder {{problem}}", "missing the placeholder {{steps}}", "chat", "temperature = -1", "top_p = 2", "max_new_tokens = 0"} {
		require.ErrorContains(t, err, w)
	}
}

// byteTok is a tokenizer with one token per byte and EOS 256.
type byteTok struct{}

func (byteTok) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := range len(s) {
		ids[i] = int(s[i])
	}
	return ids
}
func (byteTok) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}
func (byteTok) TokenBytes(id int) []byte         { return []byte{byte(id)} }
func (byteTok) VocabSize() int                   { return 257 }
func (byteTok) TokenID(string) (int, bool)       { return 0, false }
func (byteTok) EOS() int                         { return 256 }
func (t byteTok) Tokenizer() tokenizer.Tokenizer { return t }

// scripted answers each request with reply(prompt text).
type scripted struct {
	byteTok
	reply func(prompt string) string
	reqs  []engine.GenRequest
	err   error
}

func (s *scripted) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.reqs = append(s.reqs, reqs...)
	out := make([]engine.GenResult, len(reqs))
	for i, r := range reqs {
		text := s.reply(s.Decode(r.Prompt))
		out[i] = engine.GenResult{Tokens: s.Encode(text), Text: text}
	}
	return out, nil
}

func TestSelf(t *testing.T) {
	gen := &scripted{reply: func(p string) string {
		switch {
		case strings.Contains(p, "Q1"):
			return `The carry is dropped in step 2. \boxed{2}`
		case strings.Contains(p, "Q2"):
			return `hmm, Step 3`
		}
		return `fine \boxed{0}`
	}}
	cfg := DefaultSelfConfig()
	cfg.Temperature, cfg.MaxNewTokens = 0, 64
	self, err := NewSelf(gen, cfg)
	require.NoError(t, err)
	reqs := []Request{
		{Task: abi.Task{Prompt: "Q1"}, Steps: []string{"a", "b", "c"}, Seed: 11},
		{Task: abi.Task{Prompt: "Q2"}, Steps: []string{"a", "b", "c"}, Seed: 12},
		{Task: abi.Task{Prompt: "Q3"}, Steps: []string{"a"}, Seed: 13},
		{Task: abi.Task{Prompt: "Q4"}},
	}
	res, err := self.Localize(context.Background(), reqs)
	require.NoError(t, err)
	require.Equal(t, []Result{
		{Step: 2, Answer: 2, Text: `The carry is dropped in step 2. \boxed{2}`, Tokens: len(`The carry is dropped in step 2. \boxed{2}`), Status: abi.StatusOK},
		{Step: 3, Answer: -1, Fallback: FallbackStepMention, Text: `hmm, Step 3`, Tokens: len("hmm, Step 3"), Status: abi.StatusOK},
		{Step: 1, Answer: 0, Fallback: FallbackNoError, Text: `fine \boxed{0}`, Tokens: len(`fine \boxed{0}`), Status: abi.StatusOK},
		{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: "trajectory has no steps"},
	}, res)
	// One batched call with the configured sampling, the request's seed
	// and the rendered prompt; no ground truth is shown.
	require.Len(t, gen.reqs, 3)
	require.Equal(t, uint64(12), gen.reqs[1].Seed)
	require.Equal(t, engine.Sampling{Temperature: 0, TopP: 1, MaxNewTokens: 64, StopTokens: []int{256}}, gen.reqs[1].Sampling)
	require.Equal(t, self.Prompt(&reqs[1]), gen.Decode(gen.reqs[1].Prompt))

	gen.err = errors.New("out of memory")
	_, err = self.Localize(context.Background(), reqs[:1])
	require.ErrorContains(t, err, "generate: out of memory")
}

// windowed is scripted with a model context of 40 tokens.
type windowed struct{ scripted }

func (*windowed) Config() model.Config { return model.Config{MaxPositions: 40} }

// A prompt longer than the model's context is a localization error for
// that request alone (step 1), not an engine failure of the batch.
func TestSelfPromptLongerThanContext(t *testing.T) {
	gen := &windowed{scripted{reply: func(string) string { return `\boxed{2}` }}}
	self, err := NewSelf(gen, SelfConfig{Template: "{{problem}}|{{steps}}", Chat: PlaceholderContent, Temperature: 0.3, TopP: 1, MaxNewTokens: 8})
	require.NoError(t, err)
	res, err := self.Localize(context.Background(), []Request{
		{Task: abi.Task{Prompt: "short"}, Steps: []string{"a", "b"}},
		{Task: abi.Task{Prompt: strings.Repeat("long ", 10)}, Steps: []string{"a", "b"}},
	})
	require.NoError(t, err)
	require.Equal(t, 2, res[0].Step)
	require.Equal(t, abi.StatusOK, res[0].Status)
	require.Equal(t, Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError,
		Error: "the localization prompt is 70 tokens, the model's context is 40 (use a shorter localizer.template)"}, res[1])
	require.Len(t, gen.reqs, 1, "only the prompt that fits is generated")
}

type fakePlugin struct {
	fn func(r *abi.LocalizeRequest) (abi.Localization, error)
}

func (f fakePlugin) Localize(_ context.Context, r *abi.LocalizeRequest) (abi.Localization, error) {
	return f.fn(r)
}

func TestPlugin(t *testing.T) {
	p := NewPlugin(fakePlugin{func(r *abi.LocalizeRequest) (abi.Localization, error) {
		switch r.Seed {
		case 1:
			return abi.Localization{Step: 2, Fallback: "first-error-missing", Detail: "d"}, nil
		case 2:
			return abi.Localization{Step: 0}, nil
		case 3:
			return abi.Localization{Step: 9}, nil
		case 4:
			return abi.Localization{}, &host.PluginError{Plugin: "oracle", Op: "localize", Status: abi.StatusTimeout}
		}
		return abi.Localization{Step: *r.Verdict.FirstError}, nil
	}}, 2)
	three := []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 3}}
	fe := 3
	res, err := p.Localize(context.Background(), []Request{
		{Spans: three, Seed: 1}, {Spans: three, Seed: 2}, {Spans: three, Seed: 3}, {Spans: three, Seed: 4},
		{Spans: three, Seed: 5, Verdict: &abi.Verdict{FirstError: &fe}}, {Seed: 6},
	})
	require.NoError(t, err)
	require.Equal(t, []Result{
		{Step: 2, Answer: 2, Fallback: "first-error-missing", Text: "d", Status: abi.StatusOK},
		{Step: 1, Answer: 0, Fallback: FallbackNoError, Status: abi.StatusOK},
		{Step: 1, Answer: 9, Fallback: FallbackOutOfRange, Status: abi.StatusOK},
		{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusTimeout, Error: `plugin "oracle" localize: timeout`},
		{Step: 3, Answer: 3, Status: abi.StatusOK},
		{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: "trajectory has no steps"},
	}, res)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Localize(ctx, []Request{{Spans: three}})
	require.ErrorIs(t, err, context.Canceled)
}

// Open opens the builtin self localizer from the run's settings and
// every other name as the host plugin loaded for it.
func TestOpen(t *testing.T) {
	require.Equal(t, []string{SelfName}, Builtins())
	require.False(t, IsPlugin(SelfName))
	require.True(t, IsPlugin("random"))

	gen := &scripted{reply: func(string) string { return `\boxed{1}` }}
	l, err := Open(Settings{Name: SelfName, Template: ShortName, Chat: true, Delimiter: "</step>", Temperature: 0.5, MaxTokens: 32}, Env{Policy: gen})
	require.NoError(t, err)
	self, ok := l.(*Self)
	require.True(t, ok, "self opens the self localizer")
	want := DefaultSelfConfig()
	want.Template, want.Chat, want.Delimiters = ShortTemplate, ChatML, []string{"<thought>", "</step>"}
	want.Temperature, want.MaxNewTokens = 0.5, 32
	require.Equal(t, want, self.cfg)

	l, err = Open(Settings{Name: SelfName, Template: "{{problem}} {{steps}} {{n}}", MaxTokens: 8}, Env{Policy: gen})
	require.NoError(t, err)
	require.Equal(t, "{{problem}} {{steps}} {{n}}", l.(*Self).cfg.Template)
	_, err = Open(Settings{Name: SelfName, MaxTokens: 8}, Env{})
	require.ErrorContains(t, err, "nil policy")

	plugin := fakePlugin{func(*abi.LocalizeRequest) (abi.Localization, error) { return abi.Localization{Step: 1}, nil }}
	l, err = Open(Settings{Name: "random"}, Env{Plugin: plugin, Concurrency: 3})
	require.NoError(t, err)
	require.IsType(t, &Plugin{}, l)
	require.Equal(t, 3, l.(*Plugin).concurrency)
	res, err := l.Localize(context.Background(), []Request{{Spans: []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}}}})
	require.NoError(t, err)
	require.Equal(t, 1, res[0].Answer, "the plugin answered")
	_, err = Open(Settings{Name: "random"}, Env{})
	require.ErrorContains(t, err, `localizer "random" is a host plugin, and none was loaded`)
}
