package localize

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rewind-rl/rewind/host"
)

// SelfName is the name of the self localizer (SRPO): the policy names the
// first wrong step of its own solution.
const SelfName = "self"

// ShortName, as Settings.Template, selects ShortTemplate.
const ShortName = "short"

// Settings are a run's localizer section, as Open reads it.
type Settings struct {
	// Name is the localizer: one built into this package (Builtins) or a
	// host localizer plugin (random, oracle, first, or a user's).
	Name string
	// Template is the self localizer's prompt: "" for DefaultTemplate,
	// ShortName for ShortTemplate, or a template with the placeholders.
	Template string
	// Chat wraps the self localizer's prompt as a ChatML user turn, as a
	// run with a chat data template needs.
	Chat bool
	// Delimiter is the run's step delimiter, removed from the steps shown
	// to the self localizer beside "<thought>".
	Delimiter string
	// Temperature and MaxTokens are the self localizer's sampling.
	Temperature float32
	MaxTokens   int
}

// Env is what the localizers may use of the run.
type Env struct {
	// Policy is the policy being trained (the self localizer asks it).
	Policy Generator
	// Plugin is the host localizer plugin that Settings.Name names, loaded
	// with the run's other plugins (nil when Name is a builtin).
	Plugin host.Localizer
	// Concurrency bounds a plugin's calls in flight.
	Concurrency int
}

// builtins are the localizers that live in the trainer rather than in
// the host: a new one that needs the policy is an entry here.
var builtins = map[string]func(Settings, Env) (Localizer, error){
	SelfName: openSelf,
}

// Builtins lists the names of the localizers built into this package,
// sorted; every other name is a host plugin.
func Builtins() []string { return slices.Sorted(maps.Keys(builtins)) }

// IsPlugin reports whether name is a host localizer plugin, which the run
// loads with its other plugins, rather than a builtin of this package.
func IsPlugin(name string) bool {
	_, ok := builtins[name]
	return !ok
}

// Open returns the localizer s.Name names.
func Open(s Settings, env Env) (Localizer, error) {
	if open, ok := builtins[s.Name]; ok {
		return open(s, env)
	}
	if env.Plugin == nil {
		return nil, fmt.Errorf("localize: localizer %q is a host plugin, and none was loaded for it", s.Name)
	}
	return NewPlugin(env.Plugin, env.Concurrency), nil
}

// openSelf maps Settings onto SelfConfig.
func openSelf(s Settings, env Env) (Localizer, error) {
	sc := DefaultSelfConfig()
	switch s.Template {
	case "":
	case ShortName:
		sc.Template = ShortTemplate
	default:
		sc.Template = s.Template
	}
	if s.Chat {
		sc.Chat = ChatML
	}
	sc.Temperature = s.Temperature
	sc.MaxNewTokens = s.MaxTokens
	sc.Delimiters = []string{"<thought>", s.Delimiter}
	return NewSelf(env.Policy, sc)
}
