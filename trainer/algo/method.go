package algo

import (
	"fmt"
	"maps"
	"slices"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// Method names (the values of a run config's algo.name).
const (
	GRPO = "grpo"
	RRPO = "rrpo"
	SRPO = "srpo"
)

// Method is a training method: what a name in algo.name selects, and the
// defaults it brings. A new method is one entry in methods; the run
// config, its presets and the loop all read this table.
type Method struct {
	// Name is the value of algo.name.
	Name string
	// Variant is the group assembly. VariantGRPO for a method that does
	// not reset (one group of fresh trajectories); for one that does, the
	// default layout, which algo.layout may change to any of
	// ResetVariants.
	Variant Variant
	// Loss is the method's default loss (docs/method.md: GRPO trains with the
	// PPO clipped surrogate, RRPO and SRPO with the plain policy
	// gradient).
	Loss engine.LossKind
	// Localizer is the default localizer.name of a method that resets,
	// "" for one that does not.
	Localizer string
	// localizers, when set, are the only localizer names the method
	// takes; notLocalizers are names it refuses; hint says what to use
	// instead.
	localizers, notLocalizers []string
	hint                      string
}

// methods is the table of training methods.
var methods = map[string]Method{
	GRPO: {Name: GRPO, Variant: VariantGRPO, Loss: engine.LossClip},
	RRPO: {Name: RRPO, Variant: Variant1x4, Loss: engine.LossPG, Localizer: "random",
		notLocalizers: []string{"self"}, hint: "rrpo resets at random; use algo.name: srpo for self-localization"},
	SRPO: {Name: SRPO, Variant: Variant1x4, Loss: engine.LossPG, Localizer: "self",
		localizers: []string{"self", "oracle"}, hint: "srpo localizes with the policy (self) or the oracle ablation (oracle); use algo.name: rrpo for random"},
}

// Methods lists the method names, sorted.
func Methods() []string { return slices.Sorted(maps.Keys(methods)) }

// MethodNamed returns the method called name.
func MethodNamed(name string) (Method, error) {
	m, ok := methods[name]
	if !ok {
		return Method{}, fmt.Errorf("algo: unknown method %q (have %v)", name, Methods())
	}
	return m, nil
}

// Resets reports whether the method resets failed trajectories, and so
// needs a localizer and takes a layout.
func (m Method) Resets() bool { return m.Variant != VariantGRPO }

// VariantFor returns the group assembly of the method under layout (a
// reset variant such as "1x4"); a method that does not reset ignores it.
func (m Method) VariantFor(layout string) Variant {
	if !m.Resets() {
		return VariantGRPO
	}
	return Variant(layout)
}

// CheckLocalizer reports whether the method takes the localizer called
// name (only a method that resets uses one).
func (m Method) CheckLocalizer(name string) error {
	if !m.Resets() {
		return nil
	}
	if name == "" {
		return fmt.Errorf("must be set for %s (self, random, oracle, first or a plugin)", m.Name)
	}
	if (m.localizers != nil && !slices.Contains(m.localizers, name)) || slices.Contains(m.notLocalizers, name) {
		return fmt.Errorf("%s does not take localizer %q: %s", m.Name, name, m.hint)
	}
	return nil
}
