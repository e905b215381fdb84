package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rewind-rl/rewind/host/internal/wasm"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// Factory builds a built-in plugin from its config options. The result
// must implement the interface of the kind it was registered with.
type Factory func(options map[string]any) (any, error)

type builtin struct {
	kind    abi.Kind
	factory Factory
	compose ComposeFactory // instead of factory, for composite built-ins
}

var (
	builtinMu sync.RWMutex
	builtins  = map[string]builtin{}
)

// RegisterBuiltin makes a native plugin available to configs as
// `builtin: NAME`. It is called from init functions and panics on a
// duplicate name or an unknown kind (programming errors).
func RegisterBuiltin(kind abi.Kind, name string, f Factory) {
	register(name, builtin{kind: kind, factory: f})
}

// register adds b to the table of built-ins (RegisterBuiltin,
// RegisterComposite).
func register(name string, b builtin) {
	builtinMu.Lock()
	defer builtinMu.Unlock()
	if _, ok := kindIface[b.kind]; !ok {
		panic(fmt.Sprintf("host: registering builtin %q: unknown kind %q", name, b.kind))
	}
	if _, dup := builtins[name]; dup {
		panic(fmt.Sprintf("host: builtin plugin %q registered twice", name))
	}
	builtins[name] = b
}

// NoOptions is the Factory of a built-in that takes no options: it returns
// impl, and refuses a config that gives any (naming them), so that a typo
// in a config is an error rather than ignored.
func NoOptions(impl any) Factory {
	return func(options map[string]any) (any, error) {
		if len(options) > 0 {
			return nil, fmt.Errorf("takes no options, got %v", slices.Sorted(maps.Keys(options)))
		}
		return impl, nil
	}
}

// Builtins lists the registered built-in plugins, sorted by name.
func Builtins() []BuiltinInfo {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	out := make([]BuiltinInfo, 0, len(builtins))
	for n, b := range builtins {
		out = append(out, BuiltinInfo{Name: n, Kind: b.kind})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinInfo names one built-in plugin.
type BuiltinInfo struct {
	Name string
	Kind abi.Kind
}

var kindIface = map[abi.Kind]func(any) bool{
	abi.KindVerifier:    func(v any) bool { _, ok := v.(Verifier); return ok },
	abi.KindRewardModel: func(v any) bool { _, ok := v.(RewardModel); return ok },
	abi.KindSegmenter:   func(v any) bool { _, ok := v.(Segmenter); return ok },
	abi.KindLocalizer:   func(v any) bool { _, ok := v.(Localizer); return ok },
}

// Options configure a Registry. The zero value is usable.
type Options struct {
	// CacheDir holds compiled Wasm code between runs; empty disables the
	// on-disk cache.
	CacheDir string
	// Seed seeds the Wasm sandboxes' random sources.
	Seed uint64
	// Generate serves the "generate" capability of Wasm plugins; nil
	// refuses modules that ask for it.
	Generate func(ctx context.Context, req []byte) ([]byte, error)
	// Resolve returns the config of a plugin that a composite built-in
	// (RegisterComposite) uses and that is not loaded yet, so that the
	// registry can load it first; nil: such a plugin must have been
	// loaded before the built-in that uses it.
	Resolve func(name string) (PluginConfig, error)
}

// Registry holds the plugins of one run by configured name. Its methods
// are safe for concurrent use. Tests create their own with NewRegistry.
type Registry struct {
	opts     Options
	mu       sync.RWMutex
	plugins  map[string]*Plugin
	counters counters
}

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) *Registry {
	return &Registry{opts: opts, plugins: map[string]*Plugin{}}
}

// Plugin is a loaded plugin: the raw implementation behind the failure
// policy, counters and deadline that the registry's accessors apply.
type Plugin struct {
	Name   string
	Kind   abi.Kind
	Source string // "builtin:NAME", "wasm:PATH" or "process:COMMAND"
	// SHA256 is the hex sha256 of the module, or of the executable that
	// the first process ran (computed at start, insecure or not);
	// "builtin" for native code. Verdicts carry the digest of the code
	// that judged them: for a process plugin, that of the running
	// generation (a restart re-reads the executable).
	SHA256   string
	Manifest abi.Manifest
	Config   PluginConfig
	// Limits are the limits the plugin runs under: its config's, its
	// manifest's requests and the host's defaults, resolved by
	// ResolveLimits (builtins: only what the config sets).
	Limits Limits

	impl any
	// stamped: the implementation fills Verdict.SHA256 itself with the
	// digest the host computed (Wasm, process); builtins are stamped by
	// the guard.
	stamped bool
	closer  io.Closer
	timeout time.Duration // applied as a context deadline (0: the plugin enforces its own)
}

// Load starts the plugin described by cfg and registers it as name. It
// validates cfg first and returns every problem with the plugin's name.
func (r *Registry) Load(ctx context.Context, name string, cfg PluginConfig) error {
	return r.loadAs(ctx, name, cfg, nil)
}

func (r *Registry) loadAs(ctx context.Context, name string, cfg PluginConfig, chain []string) error {
	if name == "" {
		return errors.New("plugin name is empty")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("plugin %q: %w", name, err)
	}
	r.mu.RLock()
	_, dup := r.plugins[name]
	r.mu.RUnlock()
	if dup {
		return fmt.Errorf("plugin %q is already loaded", name)
	}
	p, err := r.load(ctx, name, cfg, chain)
	if err != nil {
		return &PluginError{Plugin: name, Op: "load", Status: StatusOf(err), Err: err}
	}
	if ok := kindIface[p.Kind]; ok == nil || !ok(p.impl) {
		if p.closer != nil {
			_ = p.closer.Close()
		}
		return fmt.Errorf("plugin %q: %T does not implement the %s interface", name, p.impl, p.Kind)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.plugins[name]; dup {
		if p.closer != nil {
			_ = p.closer.Close()
		}
		return fmt.Errorf("plugin %q is already loaded", name)
	}
	r.plugins[name] = p
	return nil
}

// load builds the plugin; chain names the composite built-ins whose
// dependencies are being loaded (to refuse a cycle).
func (r *Registry) load(ctx context.Context, name string, cfg PluginConfig, chain []string) (*Plugin, error) {
	p := &Plugin{Name: name, Config: cfg}
	switch {
	case cfg.Builtin != "":
		builtinMu.RLock()
		b, ok := builtins[cfg.Builtin]
		builtinMu.RUnlock()
		if !ok {
			names := []string{}
			for _, bi := range Builtins() {
				names = append(names, bi.Name)
			}
			return nil, fmt.Errorf("no builtin plugin %q (have %v; is plugins/all imported?)", cfg.Builtin, names)
		}
		var impl any
		var err error
		if b.compose != nil {
			impl, err = b.compose(cfg.Options, &deps{r: r, ctx: ctx, chain: append(slices.Clone(chain), name)})
		} else {
			impl, err = b.factory(cfg.Options)
		}
		if err != nil {
			return nil, fmt.Errorf("builtin %q: %w", cfg.Builtin, err)
		}
		p.impl, p.Kind, p.Source, p.SHA256 = impl, b.kind, "builtin:"+cfg.Builtin, "builtin"
		p.Manifest = abi.Manifest{ABI: abi.Version, Kind: b.kind, Name: cfg.Builtin}
		// Native code is trusted and runs in microseconds: a deadline
		// (a timer per call) only when the config asks for one.
		p.Limits = Limits{Timeout: cfg.Limits.Timeout, Concurrency: poolSize(cfg.Limits)}
		p.timeout = cfg.Limits.Timeout
	case cfg.Wasm != "":
		var opts []byte
		if len(cfg.Options) > 0 {
			var err error
			if opts, err = json.Marshal(cfg.Options); err != nil {
				return nil, fmt.Errorf("options: %w", err)
			}
		}
		resolve := func(asked *abi.Limits) (int, time.Duration, int, error) {
			l, err := ResolveLimits(cfg.Limits, asked, false)
			return l.MemoryMiB, l.Timeout, l.MaxOutputKiB, err
		}
		w, err := wasm.Load(ctx, wasm.Config{
			Name: name, Path: cfg.Wasm, CacheDir: r.opts.CacheDir, Limits: resolve,
			PoolSize: poolSize(cfg.Limits), Options: opts, Seed: r.opts.Seed, Generate: r.opts.Generate,
		})
		if err != nil {
			return nil, fmt.Errorf("wasm module %s: %w", cfg.Wasm, err)
		}
		if p.Limits, err = ResolveLimits(cfg.Limits, w.Manifest().Limits, false); err != nil {
			_ = w.Close(ctx)
			return nil, err
		}
		p.impl, p.Kind, p.Source, p.SHA256, p.stamped = w, w.Kind(), "wasm:"+cfg.Wasm, w.SHA256(), true
		p.Manifest = w.Manifest()
		p.closer = closerFunc(func() error { return w.Close(context.Background()) })
	default:
		loader := currentProcessLoader()
		if loader == nil {
			return nil, errors.New(`process plugins are not available in this binary: the gRPC process host is not linked (import _ "github.com/rewind-rl/rewind/host/process", or plugins/all)`)
		}
		start, err := ResolveLimits(cfg.Limits, nil, true)
		if err != nil {
			return nil, err
		}
		resolve := func(asked *abi.Limits) (Limits, error) { return ResolveLimits(cfg.Limits, asked, true) }
		impl, closer, err := loader(ctx, name, ProcessSource{
			Command: cfg.Process, Args: cfg.Args, SHA256: cfg.SHA256, Insecure: cfg.Insecure,
			DisableAutoMTLS: cfg.DisableAutoMTLS, Options: cfg.Options, ResolveLimits: resolve,
		}, start)
		if err != nil {
			return nil, err
		}
		p.impl, p.closer, p.Source = impl, closer, "process:"+cfg.Process
		d, ok := impl.(Digester)
		if !ok {
			_ = closer.Close()
			return nil, fmt.Errorf("the process loader returned %T, which does not report its executable's sha256 (it must implement host.Digester)", impl)
		}
		p.SHA256, p.stamped = d.SHA256(), true
		for k, ok := range kindIface {
			if ok(impl) {
				p.Kind = k
			}
		}
		if m, ok := impl.(ManifestReporter); ok {
			p.Manifest = m.Manifest()
			if p.Manifest.Kind != "" {
				p.Kind = p.Manifest.Kind
			}
		}
		if p.Limits, err = resolve(p.Manifest.Limits); err != nil {
			_ = closer.Close()
			return nil, err
		}
		p.timeout = p.Limits.Timeout
	}
	return p, nil
}

// poolSize is the number of Wasm instances: the config's concurrency,
// else GOMAXPROCS.
func poolSize(l Limits) int {
	if l.Concurrency > 0 {
		return l.Concurrency
	}
	return runtime.GOMAXPROCS(0)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// Names lists the loaded plugins' names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.plugins))
}

// Plugin returns the loaded plugin's description.
func (r *Registry) Plugin(name string) (*Plugin, error) {
	r.mu.RLock()
	p, ok := r.plugins[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no plugin %q is loaded (have %v)", name, r.Names())
	}
	return p, nil
}

func (r *Registry) get(name string, k abi.Kind) (*Plugin, error) {
	p, err := r.Plugin(name)
	if err != nil {
		return nil, err
	}
	if p.Kind != k {
		return nil, fmt.Errorf("plugin %q is a %s, not a %s", name, p.Kind, k)
	}
	return p, nil
}

// Close stops every plugin and forgets them.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, n := range slices.Sorted(mapsKeys(r.plugins)) {
		if c := r.plugins[n].closer; c != nil {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("plugin %q: %w", n, err))
			}
		}
	}
	r.plugins = map[string]*Plugin{}
	return errors.Join(errs...)
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
