package host

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
)

// PluginConfig is one plugin's config section, e.g. in YAML:
//
//	plugins:
//	  math:
//	    wasm: examples/plugins/boxed-go/boxed.wasm
//	    limits: {memory_mib: 64, timeout: 2s}
//	    on_failure: {retry: 1, action: drop_sample}
//
// Exactly one of Builtin, Wasm and Process names the source. Decode it with
// DecodePluginConfig (unknown keys are errors) and check it with Validate.
type PluginConfig struct {
	// Builtin names a plugin compiled into the binary (see Builtins).
	Builtin string `koanf:"builtin"`
	// Wasm is the path of a .wasm module (ABI v1, sdk/ABI.md).
	Wasm string `koanf:"wasm"`
	// Process is the executable of a gRPC plugin (go-plugin).
	Process string `koanf:"process"`
	// Args are the process plugin's arguments.
	Args []string `koanf:"args"`
	// SHA256 is the hex checksum of the process plugin's executable;
	// required unless Insecure is set.
	SHA256 string `koanf:"sha256"`
	// Insecure runs a process plugin without checking its checksum.
	// Default false: a checksum is required.
	Insecure bool `koanf:"insecure"`
	// DisableAutoMTLS turns off go-plugin's automatic mutual TLS, which
	// non-Go plugins (Python) do not implement. Default false: AutoMTLS on.
	DisableAutoMTLS bool `koanf:"disable_automtls"`
	// Options are passed to the plugin: to a builtin's factory, to a Wasm
	// module's rewind_init, to a process plugin at start.
	Options map[string]any `koanf:"options"`
	// Limits bound the plugin; zero fields take the defaults on Limits.
	Limits Limits `koanf:"limits"`
	// OnFailure is what the caller does when a call fails.
	OnFailure FailurePolicy `koanf:"on_failure"`
}

// Limits bound one plugin. A zero field is unset: the plugin's manifest
// may then ask for a value up to the host's default, else the default
// applies (ResolveLimits; Plugin.Limits holds the result).
type Limits struct {
	// MemoryMiB caps a Wasm plugin's linear memory. Default
	// DefaultMemoryMiB (128); at most MaxMemoryMiB.
	MemoryMiB int `koanf:"memory_mib"`
	// Timeout is the deadline of one call, retries excluded. Default
	// DefaultTimeout (1s) for Wasm, DefaultProcessTimeout (10s) for
	// process plugins; builtins (trusted native code) get a deadline only
	// when this is set.
	Timeout time.Duration `koanf:"timeout"`
	// MaxOutputKiB caps the size of one response of a Wasm or process
	// plugin. Default DefaultMaxOutputKiB (1024).
	MaxOutputKiB int `koanf:"max_output_kib"`
	// Concurrency is the number of calls served at once (the Wasm instance
	// pool size). Default GOMAXPROCS.
	Concurrency int `koanf:"concurrency"`
}

// Action is what the trainer does with a sample whose plugin call failed
// after its retries.
type Action string

// Failure actions.
const (
	// DropSample: the sample is left out; its group is normalised over
	// the rest. The default.
	DropSample Action = "drop_sample"
	// DropGroup: the whole group of the sample is left out of the update.
	DropGroup Action = "drop_group"
	// FailRun: the run stops with the error.
	FailRun Action = "fail_run"
)

// FailurePolicy says how often a failed call is retried and what happens
// when it still fails. The zero value retries never and drops the sample.
type FailurePolicy struct {
	// Retry is the number of extra attempts after a failed call (timeout,
	// crash, trap, oversized, malformed; an explicit plugin error is not
	// retried). Default 0.
	Retry int `koanf:"retry"`
	// Action after the last failure. Default drop_sample.
	Action Action `koanf:"action"`
}

// EffectiveAction returns the action, with the default filled in.
func (f FailurePolicy) EffectiveAction() Action {
	if f.Action == "" {
		return DropSample
	}
	return f.Action
}

// DecodePluginConfig decodes the section at path of k into a PluginConfig,
// refusing unknown keys (the error names them). It does not validate.
func DecodePluginConfig(k *koanf.Koanf, path string) (PluginConfig, error) {
	var c PluginConfig
	err := k.UnmarshalWithConf(path, &c, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
			ErrorUnused:      true,
			WeaklyTypedInput: false,
			Result:           &c,
			TagName:          "koanf",
		},
	})
	if err != nil {
		return c, fmt.Errorf("plugin config %s: %w", path, err)
	}
	return c, nil
}

// Validate reports every problem of the section at once.
func (c *PluginConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	n := 0
	for _, s := range []string{c.Builtin, c.Wasm, c.Process} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		add("exactly one of builtin, wasm and process must be set (got %d)", n)
	}
	if c.Process == "" {
		if len(c.Args) > 0 {
			add("args: only a process plugin takes arguments")
		}
		if c.SHA256 != "" || c.Insecure || c.DisableAutoMTLS {
			add("sha256, insecure and disable_automtls apply to process plugins only")
		}
	} else if c.SHA256 == "" && !c.Insecure {
		add("sha256: a process plugin needs the sha256 of %s (run `sha256sum %s`), or insecure: true to skip the check", c.Process, c.Process)
	}
	if c.SHA256 != "" {
		if len(c.SHA256) != 64 || strings.Trim(strings.ToLower(c.SHA256), "0123456789abcdef") != "" {
			add("sha256: want 64 hex digits, got %q", c.SHA256)
		}
	}
	if c.Limits.MemoryMiB < 0 || c.Limits.MemoryMiB > MaxMemoryMiB {
		add("limits.memory_mib: %d is outside 0..%d", c.Limits.MemoryMiB, MaxMemoryMiB)
	}
	if c.Limits.Timeout < 0 {
		add("limits.timeout: %v is negative", c.Limits.Timeout)
	}
	if c.Limits.MaxOutputKiB < 0 {
		add("limits.max_output_kib: %d is negative", c.Limits.MaxOutputKiB)
	}
	if c.Limits.Concurrency < 0 {
		add("limits.concurrency: %d is negative", c.Limits.Concurrency)
	}
	if c.OnFailure.Retry < 0 || c.OnFailure.Retry > 10 {
		add("on_failure.retry: %d is outside 0..10", c.OnFailure.Retry)
	}
	switch c.OnFailure.Action {
	case "", DropSample, DropGroup, FailRun:
	default:
		add("on_failure.action: %q is not one of drop_sample, drop_group, fail_run", c.OnFailure.Action)
	}
	return errors.Join(errs...)
}
