package host

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// ComposeFactory builds a composite built-in: one that calls other plugins
// of the registry that loads it, named in its options (the prm localizer
// asks a reward model to score prefixes). Plugin kinds are composed by
// configuration: the built-in gets its dependencies from deps, through the
// registry's accessors, so their failure policy, deadline, counters and
// contract checks apply to its calls as to any other.
type ComposeFactory func(options map[string]any, deps Deps) (any, error)

// Deps gives a composite built-in, while it is built, the other plugins
// of its registry. A plugin that is not loaded yet is loaded first from
// the config that Options.Resolve returns for its name; a plugin that
// (directly or not) depends on itself is refused.
type Deps interface {
	Verifier(name string) (Verifier, error)
	RewardModel(name string) (RewardModel, error)
	Segmenter(name string) (Segmenter, error)
	Localizer(name string) (Localizer, error)
}

// RegisterComposite is RegisterBuiltin for a built-in that uses other
// plugins. Like RegisterBuiltin it panics on a duplicate name or an
// unknown kind.
func RegisterComposite(kind abi.Kind, name string, f ComposeFactory) {
	register(name, builtin{kind: kind, compose: f})
}

// deps loads the dependencies of the composite built-in chain[len-1].
type deps struct {
	r     *Registry
	ctx   context.Context
	chain []string // the composites being built, outermost first
}

func (d *deps) use(name string) error {
	if slices.Contains(d.chain, name) {
		return fmt.Errorf("plugin %q depends on itself (%s -> %s)", name, strings.Join(d.chain, " -> "), name)
	}
	d.r.mu.RLock()
	_, ok := d.r.plugins[name]
	d.r.mu.RUnlock()
	if ok {
		return nil
	}
	if d.r.opts.Resolve == nil {
		return fmt.Errorf("plugin %q is not loaded; load it before %q", name, d.chain[len(d.chain)-1])
	}
	cfg, err := d.r.opts.Resolve(name)
	if err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	if err := d.r.loadAs(d.ctx, name, cfg, d.chain); err != nil {
		d.r.mu.RLock()
		_, loaded := d.r.plugins[name]
		d.r.mu.RUnlock()
		if !loaded {
			return err
		}
		// Another composite loaded it meanwhile: use that one.
	}
	return nil
}

func (d *deps) Verifier(name string) (Verifier, error) {
	if err := d.use(name); err != nil {
		return nil, err
	}
	return d.r.Verifier(name)
}

func (d *deps) RewardModel(name string) (RewardModel, error) {
	if err := d.use(name); err != nil {
		return nil, err
	}
	return d.r.RewardModel(name)
}

func (d *deps) Segmenter(name string) (Segmenter, error) {
	if err := d.use(name); err != nil {
		return nil, err
	}
	return d.r.Segmenter(name)
}

func (d *deps) Localizer(name string) (Localizer, error) {
	if err := d.use(name); err != nil {
		return nil, err
	}
	return d.r.Localizer(name)
}

var _ Deps = (*deps)(nil)
