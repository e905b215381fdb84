package host

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
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
// The `config` tags give each field's key; the host reads them itself, so
// the section may come from any config library.
type PluginConfig struct {
	// Builtin names a plugin compiled into the binary (see Builtins).
	Builtin string `config:"builtin"`
	// Wasm is the path of a .wasm module (ABI v1, sdk/ABI.md).
	Wasm string `config:"wasm"`
	// Process is the executable of a gRPC plugin (go-plugin).
	Process string `config:"process"`
	// Args are the process plugin's arguments.
	Args []string `config:"args"`
	// SHA256 is the hex checksum of the process plugin's executable;
	// required unless Insecure is set.
	SHA256 string `config:"sha256"`
	// Insecure runs a process plugin without checking its checksum.
	// Default false: a checksum is required.
	Insecure bool `config:"insecure"`
	// DisableAutoMTLS turns off go-plugin's automatic mutual TLS, which
	// non-Go plugins (Python) do not implement. Default false: AutoMTLS on.
	DisableAutoMTLS bool `config:"disable_automtls"`
	// Options are passed to the plugin: to a builtin's factory, to a Wasm
	// module's rewind_init, to a process plugin at start.
	Options map[string]any `config:"options"`
	// Limits bound the plugin; zero fields take the defaults on Limits.
	Limits Limits `config:"limits"`
	// OnFailure is what the caller does when a call fails.
	OnFailure FailurePolicy `config:"on_failure"`
}

// Limits bound one plugin. A zero field is unset: the plugin's manifest
// may then ask for a value up to the host's default, else the default
// applies (ResolveLimits; Plugin.Limits holds the result).
type Limits struct {
	// MemoryMiB caps a Wasm plugin's linear memory. Default
	// DefaultMemoryMiB (128); at most MaxMemoryMiB.
	MemoryMiB int `config:"memory_mib"`
	// Timeout is the deadline of one call, retries excluded. Default
	// DefaultTimeout (1s) for Wasm, DefaultProcessTimeout (10s) for
	// process plugins; builtins (trusted native code) get a deadline only
	// when this is set.
	Timeout time.Duration `config:"timeout"`
	// MaxOutputKiB caps the size of one response of a Wasm or process
	// plugin. Default DefaultMaxOutputKiB (1024).
	MaxOutputKiB int `config:"max_output_kib"`
	// Concurrency is the number of calls served at once (the Wasm instance
	// pool size). Default GOMAXPROCS.
	Concurrency int `config:"concurrency"`
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
	Retry int `config:"retry"`
	// Action after the last failure. Default drop_sample.
	Action Action `config:"action"`
}

// EffectiveAction returns the action, with the default filled in.
func (f FailurePolicy) EffectiveAction() Action {
	if f.Action == "" {
		return DropSample
	}
	return f.Action
}

// DecodePluginConfig decodes one plugin's config section, as a YAML, JSON
// or TOML parser returns it (a map from key to value, nested maps for
// nested sections), into a PluginConfig. It refuses unknown keys, a
// fractional number for an integer field and a duration without a unit
// (write "2s", not 2), each error naming the key. source says where the
// section came from (for example "train.yaml: plugins.math") and starts
// every error. It does not validate: call Validate.
//
// The section is read, never modified or kept; Options holds the same
// values as section["options"] (its nested maps are not copied).
func DecodePluginConfig(section map[string]any, source string) (PluginConfig, error) {
	var c PluginConfig
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  strictHook,
		ErrorUnused: true,
		Result:      &c,
		TagName:     "config",
	})
	if err != nil {
		return c, fmt.Errorf("plugin config %s: %w", source, err) // a bad DecoderConfig: a bug here
	}
	if err := d.Decode(section); err != nil {
		return PluginConfig{}, decodeErrors(source, err)
	}
	return c, nil
}

// decodeErrors turns mapstructure's error (a header over a list of
// "'key' problem" lines) into one line per problem, each naming the
// section and the key: "plugin config plugins.x: limits.timeout: ...".
func decodeErrors(source string, err error) error {
	var list []error
	if j, ok := errors.Unwrap(err).(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		var de *mapstructure.DecodeError
		msg := e.Error()
		if errors.As(e, &de) {
			msg = errors.Unwrap(de).Error()
			if strings.HasPrefix(msg, "has invalid keys: ") {
				msg = fmt.Sprintf("unknown keys %s (valid: %s)", strings.TrimPrefix(msg, "has invalid keys: "),
					strings.Join(configKeys(de.Name()), ", "))
			}
			if de.Name() != "" {
				msg = de.Name() + ": " + msg
			}
		}
		out = append(out, fmt.Errorf("plugin config %s: %s", source, msg))
	}
	return errors.Join(out...)
}

// strictHook parses durations ("2s", "1500ms") and refuses the numbers
// that mapstructure would otherwise convert silently: a number for a
// time.Duration (nanoseconds, so `timeout: 2` would be 2ns) and a
// fractional number for an integer field (it would be truncated).
func strictHook(from, to reflect.Type, v any) (any, error) {
	durationType := reflect.TypeFor[time.Duration]()
	if to == durationType && from.Kind() == reflect.String {
		d, err := time.ParseDuration(v.(string))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration: write a number with a unit, such as \"2s\" or \"500ms\"", v)
		}
		return d, nil
	}
	if k := from.Kind(); k < reflect.Int || k > reflect.Float64 {
		return v, nil
	}
	if to == durationType {
		return nil, fmt.Errorf("duration %v has no unit: write it as a string such as \"%vs\" or \"%vms\"", v, v, v)
	}
	if k := to.Kind(); k >= reflect.Int && k <= reflect.Uint64 {
		if f := reflect.ValueOf(v).Convert(reflect.TypeFor[float64]()).Float(); f != math.Trunc(f) {
			return nil, fmt.Errorf("%v is not a whole number", v)
		}
	}
	return v, nil
}

// configKeys lists the keys of the section at the dotted path of a
// PluginConfig ("" for the top level), in field order.
func configKeys(path string) []string {
	t := reflect.TypeFor[PluginConfig]()
	for _, name := range strings.Split(path, ".") {
		if name == "" {
			continue
		}
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("config") == name {
				t = t.Field(i).Type
				break
			}
		}
	}
	var keys []string
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			keys = append(keys, t.Field(i).Tag.Get("config"))
		}
	}
	return keys
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
