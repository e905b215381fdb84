package data

import (
	"errors"
	"fmt"
	"strings"
)

// Template kinds.
const (
	// TemplatePlain substitutes the prompt into Format.
	TemplatePlain = "plain"
	// TemplateChat writes ChatML: an optional system turn, the user turn
	// (Format applied to the prompt), and an open assistant turn.
	TemplateChat = "chat"
)

// PromptPlaceholder is replaced by the example's prompt in Format.
const PromptPlaceholder = "{prompt}"

// Template renders an example's prompt into the text the policy continues.
// The caller tokenizes the result (special tokens such as <|im_start|> in
// it are matched by the tokenizer).
type Template struct {
	// Kind is TemplatePlain or TemplateChat. Required: there is no default,
	// because the right one depends on how the model was trained.
	Kind string `json:"kind" koanf:"kind" help:"prompt template: chat (ChatML turns) or plain"`
	// Format is the user text with PromptPlaceholder where the prompt goes.
	// Default (empty): the prompt alone.
	Format string `json:"format,omitempty" koanf:"format" help:"user text with {prompt} where the dataset's prompt goes; empty: the prompt alone"`
	// System is the system turn of a chat template; empty means none.
	// Must be empty for a plain template.
	System string `json:"system,omitempty" koanf:"system" help:"chat: system turn; empty for none"`
	// AssistantPrefix is appended after the open assistant turn (chat) or
	// after the formatted prompt (plain), for example "<thought>". Default
	// empty.
	AssistantPrefix string `json:"assistant_prefix,omitempty" koanf:"assistant_prefix" help:"text after the open assistant turn (chat) or the prompt (plain), e.g. <thought>"`
}

// Validate reports every bad field at once.
func (t Template) Validate() error {
	var errs []error
	switch t.Kind {
	case TemplatePlain:
		if t.System != "" {
			errs = append(errs, errors.New(`template.system: only a "chat" template has a system turn`))
		}
	case TemplateChat:
	case "":
		errs = append(errs, errors.New(`template.kind: missing (want "plain" or "chat")`))
	default:
		errs = append(errs, fmt.Errorf(`template.kind: %q (want "plain" or "chat")`, t.Kind))
	}
	if t.Format != "" && strings.Count(t.Format, PromptPlaceholder) != 1 {
		errs = append(errs, fmt.Errorf("template.format: must contain %s exactly once, got %q", PromptPlaceholder, t.Format))
	}
	return errors.Join(errs...)
}

// Render returns the text for prompt. It does not validate: call Validate
// once on the configuration.
func (t Template) Render(prompt string) string {
	user := prompt
	if t.Format != "" {
		user = strings.Replace(t.Format, PromptPlaceholder, prompt, 1)
	}
	if t.Kind != TemplateChat {
		return user + t.AssistantPrefix
	}
	var b strings.Builder
	if t.System != "" {
		b.WriteString("<|im_start|>system\n")
		b.WriteString(t.System)
		b.WriteString("<|im_end|>\n")
	}
	b.WriteString("<|im_start|>user\n")
	b.WriteString(user)
	b.WriteString("<|im_end|>\n<|im_start|>assistant\n")
	b.WriteString(t.AssistantPrefix)
	return b.String()
}
