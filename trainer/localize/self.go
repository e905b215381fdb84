package localize

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Template placeholders.
const (
	PlaceholderProblem = "{{problem}}" // the task's prompt
	PlaceholderSteps   = "{{steps}}"   // "Step 1: ...\nStep 2: ..."
	PlaceholderN       = "{{n}}"       // the number of steps
	PlaceholderContent = "{{content}}" // in Chat: the rendered template
)

// DefaultTemplate is the localization prompt of docs/method.md: it states the
// task, shows the problem and the numbered steps, says the answer is
// wrong, asks for the step where the derailing decision originates,
// forbids re-solving and demands \boxed{N} on the last line.
const DefaultTemplate = `You are reviewing your own earlier solution to a problem in order to find its first erroneous step.

Problem:
{{problem}}

Your earlier solution, split into steps:
{{steps}}

The final answer of this solution is wrong, so at least one step is wrong. Identify the step where the decision that derailed the solution originates, not the later step where the failure becomes visible. Do not re-solve the problem. Explain briefly, then give the number of the first erroneous step on the last line as \boxed{N}, with N between 1 and {{n}}.`

// ShortTemplate is a compact form for tiny models trained from scratch
// (the warm-start data of the synthetic tasks uses the same constant).
const ShortTemplate = `Problem: {{problem}}
{{steps}}
The answer is wrong. First wrong step (1-{{n}}):`

// ChatML wraps a prompt as one user turn of a ChatML model (Qwen).
const ChatML = "<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n"

// SelfConfig configures the self localizer. Start from DefaultSelfConfig.
type SelfConfig struct {
	// Template is the prompt with the placeholders {{problem}}, {{steps}}
	// and {{n}}. Default DefaultTemplate.
	Template string
	// Chat wraps the rendered template; it must contain {{content}}.
	// Default "{{content}}" (no wrapping); ChatML for Qwen-style models.
	Chat string
	// Delimiters are removed from each step's text before it is shown.
	// Default ["<thought>", "</thought>"].
	Delimiters []string
	// Temperature of the localization sample. Default 0.3 (0 for 1x8).
	Temperature float32
	// TopP; default 1 (off).
	TopP float32
	// MaxNewTokens bounds the localization. Default 4096.
	MaxNewTokens int
}

// DefaultSelfConfig returns docs/method.md's settings.
func DefaultSelfConfig() SelfConfig {
	return SelfConfig{
		Template:     DefaultTemplate,
		Chat:         PlaceholderContent,
		Delimiters:   []string{"<thought>", "</thought>"},
		Temperature:  0.3,
		TopP:         1,
		MaxNewTokens: 4096,
	}
}

// Validate reports every bad field at once.
func (c SelfConfig) Validate() error {
	var errs []error
	for _, ph := range []string{PlaceholderProblem, PlaceholderSteps} {
		if !strings.Contains(c.Template, ph) {
			errs = append(errs, fmt.Errorf("template: missing the placeholder %s", ph))
		}
	}
	if !strings.Contains(c.Chat, PlaceholderContent) {
		errs = append(errs, fmt.Errorf("chat = %q: must contain %s", c.Chat, PlaceholderContent))
	}
	if c.Temperature < 0 {
		errs = append(errs, fmt.Errorf("temperature = %g: must be >= 0", c.Temperature))
	}
	if c.TopP < 0 || c.TopP > 1 {
		errs = append(errs, fmt.Errorf("top_p = %g: must be in [0, 1]", c.TopP))
	}
	if c.MaxNewTokens < 1 {
		errs = append(errs, fmt.Errorf("max_new_tokens = %d: must be >= 1, e.g. 4096", c.MaxNewTokens))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("localize: self: %w", err)
	}
	return nil
}

// Render returns the localization prompt text for a problem and its step
// texts: the template with the steps listed as "Step i: text", each
// step's delimiters removed and surrounding space trimmed, wrapped by
// chat. A step that already starts with its own "Step N:" label (the
// format of the procedural benchmarks) loses it, so the listing never
// reads "Step 1: Step 1: ...".
func Render(template, chat string, delimiters []string, problem string, steps []string) string {
	var b strings.Builder
	for i, s := range steps {
		for _, d := range delimiters {
			if d != "" {
				s = strings.ReplaceAll(s, d, "")
			}
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "Step %d: %s", i+1, stripStepLabel(strings.TrimSpace(s)))
	}
	content := strings.NewReplacer(
		PlaceholderProblem, problem,
		PlaceholderSteps, b.String(),
		PlaceholderN, strconv.Itoa(len(steps)),
	).Replace(template)
	return strings.ReplaceAll(chat, PlaceholderContent, content)
}

// stepLabel matches a leading "Step N:" label.
var stepLabel = regexp.MustCompile(`^Step\s+\d+\s*:\s*`)

func stripStepLabel(s string) string {
	if loc := stepLabel.FindStringIndex(s); loc != nil {
		return s[loc[1]:]
	}
	return s
}

// Generator is the part of engine.Policy that the self localizer uses.
type Generator interface {
	Tokenizer() tokenizer.Tokenizer
	Generate(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error)
}

// Self asks the policy itself for the first erroneous step, in one
// batched generation call.
type Self struct {
	policy Generator
	cfg    SelfConfig
}

// NewSelf returns the self localizer of policy.
func NewSelf(policy Generator, cfg SelfConfig) (*Self, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if policy == nil {
		return nil, errors.New("localize: self: nil policy")
	}
	return &Self{policy: policy, cfg: cfg}, nil
}

// Prompt returns the localization prompt text of req.
func (s *Self) Prompt(req *Request) string {
	return Render(s.cfg.Template, s.cfg.Chat, s.cfg.Delimiters, req.Task.Prompt, req.Steps)
}

// contextLength is implemented by policies that know their model's
// context length (both built-in engines do, through their model config).
type contextLength interface{ Config() model.Config }

// Localize renders, samples and parses every request. An engine error
// fails the batch: it is not a localization outcome. A prompt that does
// not fit the model's context (a long problem, many steps, a small model)
// is one: that request gets step 1 with FallbackError, as docs/method.md asks
// for any error during localization, and the others still run.
func (s *Self) Localize(ctx context.Context, reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	gens := make([]engine.GenRequest, 0, len(reqs))
	idx := make([]int, 0, len(reqs))
	tok := s.policy.Tokenizer()
	window := 0
	if c, ok := s.policy.(contextLength); ok {
		window = c.Config().MaxPositions
	}
	for i := range reqs {
		if len(reqs[i].Steps) == 0 {
			out[i] = Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: "trajectory has no steps"}
			continue
		}
		ids := tok.Encode(s.Prompt(&reqs[i]))
		if len(ids) == 0 {
			return nil, fmt.Errorf("localize: self: request %d: the prompt encodes to no tokens", i)
		}
		if window > 0 && len(ids) >= window {
			out[i] = Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError,
				Error: fmt.Sprintf("the localization prompt is %d tokens, the model's context is %d (use a shorter localizer.template)", len(ids), window)}
			continue
		}
		gens = append(gens, engine.GenRequest{
			Prompt: ids,
			Sampling: engine.Sampling{
				Temperature:  s.cfg.Temperature,
				TopP:         s.cfg.TopP,
				MaxNewTokens: s.cfg.MaxNewTokens,
				StopTokens:   stopTokens(tok),
			},
			Seed: reqs[i].Seed,
		})
		idx = append(idx, i)
	}
	if len(gens) == 0 {
		return out, nil
	}
	res, err := s.policy.Generate(ctx, gens)
	if err != nil {
		return nil, fmt.Errorf("localize: self: generate: %w", err)
	}
	if len(res) != len(gens) {
		return nil, fmt.Errorf("localize: self: the policy returned %d results for %d requests", len(res), len(gens))
	}
	for j, i := range idx {
		step, answer, fb := Parse(res[j].Text, len(reqs[i].Steps))
		out[i] = Result{Step: step, Answer: answer, Fallback: fb, Text: res[j].Text, Tokens: len(res[j].Tokens), Status: abi.StatusOK}
	}
	return out, nil
}

func stopTokens(tok tokenizer.Tokenizer) []int {
	if eos := tok.EOS(); eos >= 0 {
		return []int{eos}
	}
	return nil
}

var _ Localizer = (*Self)(nil)
