package engine

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Optim configures the optimiser and its schedule.
type Optim struct {
	LR          float64 `koanf:"lr" json:"lr" help:"peak learning rate (AdamW)"`                       // peak learning rate
	WeightDecay float64 `koanf:"weight_decay" json:"weight_decay" help:"AdamW decoupled weight decay"` // AdamW decoupled decay
	Beta1       float64 `koanf:"beta1" json:"beta1" help:"AdamW beta1"`
	Beta2       float64 `koanf:"beta2" json:"beta2" help:"AdamW beta2"`
	Eps         float64 `koanf:"eps" json:"eps" help:"AdamW epsilon"`
	GradClip    float64 `koanf:"grad_clip" json:"grad_clip" help:"clip the global gradient L2 norm to this; 0 turns clipping off"` // global L2 norm; 0 = off
	Schedule    string  `koanf:"schedule" json:"schedule" help:"learning-rate schedule: constant, linear or cosine"`               // constant | linear | cosine
	WarmupSteps int     `koanf:"warmup_steps" json:"warmup_steps" help:"linear warm-up steps"`
	TotalSteps  int     `koanf:"total_steps" json:"total_steps" help:"steps of the linear or cosine decay; 0 uses the run's steps"` // for linear and cosine decay
}

// Options opens a policy.
type Options struct {
	// Dir holds a Hugging Face style checkpoint (config.json,
	// model.safetensors, tokenizer.json) or one saved by Policy.Save, in
	// which case the optimiser state is restored too (unless WeightsOnly).
	// Leave it empty when Init is set.
	Dir string
	// Init, when set, is the model to start from instead of one read from
	// Dir, with a fresh optimiser: how a model is trained from scratch
	// (rewind sft).
	Init *Init
	// Optim configures the optimiser. Left zero when Dir was written by
	// Policy.Save (and WeightsOnly is false), the saved settings are used.
	Optim Optim
	// WeightsOnly opens a folder written by Policy.Save as a pretrained
	// model: the weights (and, for engines that have them, adapters),
	// config and tokenizer are loaded, while the saved optimiser state
	// (AdamW moments, step counter, seed, optimiser settings) is ignored,
	// so updates start from zero moments at step 1 of Optim's schedule.
	// This is how a run starts from a warm start (for example the output
	// of rewind sft); resuming a run's own checkpoint leaves it false.
	// On a plain Hugging Face folder it changes nothing.
	WeightsOnly bool
	// Seed initialises anything random inside the engine.
	Seed uint64
	// Extra holds engine-specific settings (for example the XLA plugin path).
	Extra map[string]string
}

// Init is a model in memory: its config, tokenizer and weights in
// Config.Params() order (for example model.InitWeights).
type Init struct {
	Config    model.Config
	Tokenizer tokenizer.Tokenizer
	Weights   []*model.Tensor
}

// Factory opens a policy.
type Factory func(opts Options) (Policy, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes an engine available by name. It panics on a duplicate
// name: engines register from init functions.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("engine: Register called twice for " + name)
	}
	factories[name] = f
}

// Engines lists the registered engine names, sorted.
func Engines() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(factories))
}

// Open opens a policy with the named engine.
func Open(name string, opts Options) (Policy, error) {
	mu.RLock()
	f, ok := factories[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("engine %q is not registered (have %v); import its package, e.g. _ \"github.com/rewind-rl/rewind/trainer/engine/cpu\"", name, Engines())
	}
	return f(opts)
}
