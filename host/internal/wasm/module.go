// Package wasm runs Rewind plugins compiled to WebAssembly on wazero,
// implementing ABI v1 (sdk/ABI.md).
//
// A Plugin owns one wazero runtime (the memory cap is a runtime setting),
// compiles its module once through an on-disk compilation cache, and keeps
// a pool of instances: instances are not safe for concurrent use, so each
// call takes one from the pool. An instance that traps, times out, exits
// or returns a malformed or oversized response is closed and replaced by a
// fresh one on a later call, so one bad request cannot poison the next.
//
// Deadlines: by default the module is instrumented before compiling
// (meter.go): every loop iteration spends fuel and every meterFuel
// iterations the guest calls a host checkpoint that stops the call once its
// deadline has passed or its caller's context has ended. wazero's own
// WithCloseOnContextDone is selectable (Config.Deadline) for comparison; it
// costs a call into the Go runtime at every loop iteration
// (docs/bench/plugins.md has the numbers).
package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/manifest"
)

// Defaults for zero Config fields.
const (
	DefaultMemoryMiB    = 128
	DefaultTimeout      = time.Second
	DefaultMaxOutputKiB = 1024
	// MaxMemoryMiB is all the memory a wasm32 module can address.
	MaxMemoryMiB = 4096
)

// Config describes one Wasm plugin. Zero fields take the defaults above;
// PoolSize 0 means 1.
type Config struct {
	Name string // configured name, for errors and rewind_init
	Path string // the .wasm file; NAME.manifest.json beside it is read if present
	// Wasm, when set, is the module's bytes and Path is used only for
	// messages and the manifest file.
	Wasm []byte
	// CacheDir holds wazero's compiled code; empty means no on-disk cache.
	CacheDir     string
	MemoryMiB    int
	Timeout      time.Duration
	MaxOutputKiB int
	PoolSize     int
	// Options is the raw JSON object passed to rewind_init; empty for none.
	Options []byte
	// Seed seeds the instances' random sources (instance i gets a stream
	// derived from Seed and i).
	Seed uint64
	// Generate serves the "generate" capability; nil refuses modules that
	// ask for it.
	Generate func(ctx context.Context, req []byte) ([]byte, error)
	// Deadline selects how the per-call deadline is enforced; the zero
	// value is DeadlineMeter.
	Deadline DeadlineMode
	// Limits, when set, decides MemoryMiB, Timeout and MaxOutputKiB from
	// the limits the module's manifest asks for (nil without a manifest or
	// limits), overriding those fields; an error refuses the module. It is
	// called before compiling with the static manifest (custom section or
	// file), and again with the manifest of the rewind_manifest export
	// when that is where the manifest comes from (a different memory cap
	// then costs a second compile, cached when CacheDir is set).
	Limits func(asked *abi.Limits) (memoryMiB int, timeout time.Duration, maxOutputKiB int, err error)
}

// applyLimits sets c's limits from the manifest's request through
// c.Limits, when set.
func (c *Config) applyLimits(m *abi.Manifest) error {
	if c.Limits == nil {
		return nil
	}
	mem, t, out, err := c.Limits(m.Limits)
	if err != nil {
		return err
	}
	c.MemoryMiB, c.Timeout, c.MaxOutputKiB = mem, t, out
	return nil
}

// DeadlineMode is a deadline enforcement mechanism.
type DeadlineMode int

const (
	// DeadlineMeter instruments the module's loops with fuel and a host
	// checkpoint (meter.go). The default: a loop iteration costs a few
	// instructions.
	DeadlineMeter DeadlineMode = iota
	// DeadlineCloseOnContextDone compiles the module unchanged with
	// wazero's WithCloseOnContextDone and runs each call under a
	// context.WithTimeout. Every loop iteration then calls into the Go
	// runtime; kept for measurements and as a fallback.
	DeadlineCloseOnContextDone
)

// Plugin is a loaded Wasm plugin. It is safe for concurrent use.
type Plugin struct {
	cfg      Config
	kind     abi.Kind
	manifest abi.Manifest
	sha256   string
	entry    string // the export of kind
	hasInit  bool
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	pool     chan *instance
	nextID   uint64 // instance counter, guarded by idMu
	idMu     sync.Mutex
	closeMu  sync.RWMutex
	closed   bool
	closing  sync.WaitGroup // dead instances being closed
}

var (
	cacheMu sync.Mutex
	caches  = map[string]wazero.CompilationCache{}
)

// compilationCache returns the process-wide cache for dir: wazero's cache
// is safe to share and caching one per directory avoids reopening it for
// every plugin.
func compilationCache(dir string) (wazero.CompilationCache, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if c, ok := caches[dir]; ok {
		return c, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", dir, err)
	}
	caches[dir] = c
	return c, nil
}

var entries = map[abi.Kind]string{
	abi.KindVerifier:    "rewind_verify",
	abi.KindRewardModel: "rewind_score",
	abi.KindSegmenter:   "rewind_segment",
	abi.KindLocalizer:   "rewind_localize",
}

// Load compiles and checks the module, instantiates one instance (running
// _initialize and rewind_init) and returns the plugin. Every refusal names
// the module and says what is wrong.
func Load(ctx context.Context, cfg Config) (p *Plugin, err error) {
	bin := cfg.Wasm
	if bin == nil {
		if bin, err = os.ReadFile(cfg.Path); err != nil {
			return nil, fmt.Errorf("reading the module: %w", err)
		}
	}
	static, err := staticManifest(bin, cfg.Path)
	if err != nil {
		return nil, err
	}
	if err := cfg.applyLimits(&static); err != nil {
		return nil, err
	}
	if cfg.MemoryMiB <= 0 {
		cfg.MemoryMiB = DefaultMemoryMiB
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxOutputKiB <= 0 {
		cfg.MaxOutputKiB = DefaultMaxOutputKiB
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 1
	}
	if cfg.MemoryMiB > MaxMemoryMiB {
		return nil, fmt.Errorf("memory_mib %d is above the %d MiB a wasm32 module can address", cfg.MemoryMiB, MaxMemoryMiB)
	}
	sum := sha256.Sum256(bin)
	p = &Plugin{cfg: cfg, sha256: hex.EncodeToString(sum[:]), manifest: static}
	orig := bin
	switch cfg.Deadline {
	case DeadlineMeter:
		if bin, err = meter(bin); err != nil {
			return nil, fmt.Errorf("instrumenting the module for deadline checks: %w", err)
		}
	case DeadlineCloseOnContextDone:
	default:
		return nil, fmt.Errorf("unknown deadline mode %d", cfg.Deadline)
	}

	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(cfg.Deadline == DeadlineCloseOnContextDone).
		WithMemoryLimitPages(uint32(cfg.MemoryMiB) * 16). // 64 KiB pages
		WithCustomSections(true)
	if cfg.CacheDir != "" {
		cache, err := compilationCache(cfg.CacheDir)
		if err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	p.runtime = rt
	defer func() {
		if err != nil {
			_ = rt.Close(ctx)
		}
	}()
	if p.compiled, err = p.runtime.CompileModule(ctx, bin); err != nil {
		return nil, fmt.Errorf("compiling the module: %w", err)
	}
	if err = p.checkExports(); err != nil {
		return nil, err
	}
	if err = p.linkImports(ctx); err != nil {
		return nil, err
	}
	p.pool = make(chan *instance, cfg.PoolSize)
	first, err := p.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	if err = p.probe(ctx, first); err != nil {
		first.close(ctx)
		return nil, err
	}
	if static.Kind == "" && p.manifest.Limits != nil && cfg.Limits != nil {
		// The manifest came from the rewind_manifest export: its limits
		// are known only now.
		again := cfg
		if err = again.applyLimits(&p.manifest); err != nil {
			first.close(ctx)
			return nil, err
		}
		if again.MemoryMiB != cfg.MemoryMiB {
			first.close(ctx)
			_ = rt.Close(ctx)
			again.Wasm, again.Limits = orig, func(*abi.Limits) (int, time.Duration, int, error) {
				return again.MemoryMiB, again.Timeout, again.MaxOutputKiB, nil
			}
			return Load(ctx, again)
		}
		p.cfg.Timeout, p.cfg.MaxOutputKiB = again.Timeout, again.MaxOutputKiB
	}
	p.pool <- first
	for range cfg.PoolSize - 1 {
		p.pool <- nil // instantiated on first use
	}
	return p, nil
}

// staticManifest reads the manifest from the module's custom section
// "rewind.manifest" or the file NAME.manifest.json beside path (package
// sdk/manifest holds the rule); the rewind_manifest export is read later,
// from a live instance. It reads the bytes itself so that the manifest's
// limits are known before the runtime (whose memory cap is a runtime
// setting) is made.
func staticManifest(bin []byte, path string) (abi.Manifest, error) {
	m, _, err := manifest.Static(bin, path)
	return m, err
}

func sig(def api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ",") + ")"
	}
	return names(def.ParamTypes()) + "->" + names(def.ResultTypes())
}

var wantSigs = map[string]string{
	"rewind_abi_version": "()->(i32)",
	"rewind_alloc":       "(i32)->(i32)",
	"rewind_free":        "(i32,i32)->()",
	"rewind_verify":      "(i32,i32)->(i64)",
	"rewind_score":       "(i32,i32)->(i64)",
	"rewind_segment":     "(i32,i32)->(i64)",
	"rewind_localize":    "(i32,i32)->(i64)",
	"rewind_init":        "(i32,i32)->(i64)",
	"rewind_manifest":    "()->(i64)",
	"_initialize":        "()->()",
}

func (p *Plugin) checkExports() error {
	exp := p.compiled.ExportedFunctions()
	for name, want := range wantSigs {
		if def, ok := exp[name]; ok && sig(def) != want {
			return fmt.Errorf("export %q has signature %s, ABI v1 wants %s", name, sig(def), want)
		}
	}
	for _, name := range []string{"rewind_abi_version", "rewind_alloc", "rewind_free"} {
		if _, ok := exp[name]; !ok {
			return fmt.Errorf("the module does not export %q: not a Rewind ABI v1 plugin (see sdk/ABI.md)", name)
		}
	}
	if _, ok := p.compiled.ExportedMemories()["memory"]; !ok {
		return errors.New(`the module does not export its memory as "memory"`)
	}
	if len(p.compiled.ImportedMemories()) > 0 {
		return errors.New("the module imports a memory; ABI v1 modules define and export their own")
	}
	_, p.hasInit = exp["rewind_init"]
	if len(p.cfg.Options) > 0 && string(p.cfg.Options) != "null" && !p.hasInit {
		return errors.New("the config gives options but the module does not export rewind_init to receive them")
	}
	if p.manifest.Kind != "" {
		p.kind = p.manifest.Kind
		if _, ok := entries[p.kind]; !ok {
			return fmt.Errorf("manifest kind %q is not one of verifier, reward_model, segmenter, localizer", p.kind)
		}
	} else if _, ok := exp["rewind_manifest"]; !ok {
		var found []abi.Kind
		for k, e := range entries {
			if _, ok := exp[e]; ok {
				found = append(found, k)
			}
		}
		if len(found) != 1 {
			slices.Sort(found)
			return fmt.Errorf("without a manifest the kind comes from the entry exports, and the module has %d (%v); add a manifest", len(found), found)
		}
		p.kind = found[0]
	}
	return nil
}

// linkImports refuses any import the sandbox does not provide and
// instantiates the host modules the module needs.
func (p *Plugin) linkImports(ctx context.Context) error {
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.runtime); err != nil {
		return err
	}
	wasiFuncs := p.runtime.Module(wasi_snapshot_preview1.ModuleName).ExportedFunctionDefinitions()
	needGenerate := false
	for _, def := range p.compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		switch {
		case mod == wasi_snapshot_preview1.ModuleName && wasiFuncs[name] != nil:
		case mod == meterModule && name == meterFunc && p.cfg.Deadline == DeadlineMeter:
			// added by meter, which refuses modules that import it themselves
		case mod == "rewind" && name == "generate":
			if !slices.Contains(p.manifest.Capabilities, "generate") {
				return fmt.Errorf(`import "rewind"."generate" needs the capability "generate" in the module's manifest`)
			}
			needGenerate = true
		default:
			return fmt.Errorf("import %q.%q is not provided by the host (allowed: wasi_snapshot_preview1 and the rewind.* functions of granted capabilities; see sdk/ABI.md)", mod, name)
		}
	}
	if p.cfg.Deadline == DeadlineMeter {
		_, err := p.runtime.NewHostModuleBuilder(meterModule).
			NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(checkpoint), nil, []api.ValueType{api.ValueTypeI32}).
			Export(meterFunc).Instantiate(ctx)
		if err != nil {
			return err
		}
	}
	for _, c := range p.manifest.Capabilities {
		if c != "generate" {
			return fmt.Errorf("the manifest asks for capability %q, which this host does not know", c)
		}
	}
	if !needGenerate {
		return nil
	}
	if p.cfg.Generate == nil {
		return errors.New(`the module needs the "generate" capability but no policy is available to serve it`)
	}
	_, err := p.runtime.NewHostModuleBuilder("rewind").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(p.hostGenerate),
		[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}).
		Export("generate").Instantiate(ctx)
	return err
}

// probe checks the ABI version and the manifest export on the first
// instance.
func (p *Plugin) probe(ctx context.Context, in *instance) error {
	v, err := in.callSimple(ctx, p, "rewind_abi_version")
	if err != nil {
		return fmt.Errorf("rewind_abi_version: %w", err)
	}
	if int32(v) != abi.Version {
		return fmt.Errorf("the module implements ABI version %d; this host implements version %d only", int32(v), abi.Version)
	}
	if p.manifest.Kind == "" && in.mod.ExportedFunction("rewind_manifest") != nil {
		packed, err := in.callSimple(ctx, p, "rewind_manifest")
		if err != nil {
			return fmt.Errorf("rewind_manifest: %w", err)
		}
		b, err := in.response(p, packed)
		if err != nil {
			return fmt.Errorf("rewind_manifest: %w", err)
		}
		if err := manifest.Decode(b, &p.manifest); err != nil {
			return fmt.Errorf("rewind_manifest returned %q: %w", b, err)
		}
		if _, ok := entries[p.manifest.Kind]; !ok {
			return fmt.Errorf("manifest kind %q is not one of verifier, reward_model, segmenter, localizer", p.manifest.Kind)
		}
		p.kind = p.manifest.Kind
	}
	if p.manifest.ABI != 0 && p.manifest.ABI != abi.Version {
		return fmt.Errorf("the manifest declares ABI %d; this host implements version %d only", p.manifest.ABI, abi.Version)
	}
	p.entry = entries[p.kind]
	if in.mod.ExportedFunction(p.entry) == nil {
		return fmt.Errorf("the module is a %s but does not export %q", p.kind, p.entry)
	}
	if p.manifest.Kind == "" {
		p.manifest = abi.Manifest{ABI: abi.Version, Kind: p.kind, Name: p.cfg.Name}
	}
	in.entry = in.mod.ExportedFunction(p.entry)
	return nil
}

// Kind returns the plugin's kind.
func (p *Plugin) Kind() abi.Kind { return p.kind }

// SHA256 returns the hex sha256 of the module's bytes.
func (p *Plugin) SHA256() string { return p.sha256 }

// Manifest returns the module's manifest (a minimal one when the module
// has none).
func (p *Plugin) Manifest() abi.Manifest { return p.manifest }

// Close closes every instance and the runtime. Calls in flight fail.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeMu.Lock()
	p.closed = true
	p.closeMu.Unlock()
	p.closing.Wait()
	return p.runtime.Close(ctx)
}
