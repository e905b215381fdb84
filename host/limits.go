package host

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/rewind-rl/rewind/host/internal/wasm"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// The host's default limits, for fields that neither the plugin's config
// nor its manifest set. They are also the most a manifest may ask for: a
// plugin cannot raise its own limits (see ResolveLimits).
const (
	DefaultMemoryMiB      = wasm.DefaultMemoryMiB    // Wasm linear memory
	DefaultTimeout        = wasm.DefaultTimeout      // per call, builtin and Wasm
	DefaultProcessTimeout = 10 * time.Second         // per call, process plugins
	DefaultMaxOutputKiB   = wasm.DefaultMaxOutputKiB // one response
	// MaxMemoryMiB is the most memory a config may give a Wasm plugin:
	// all that a wasm32 module can address.
	MaxMemoryMiB = wasm.MaxMemoryMiB
)

// ResolveLimits returns the limits a plugin runs under, from its config's
// limits cfg, what its manifest asks for (nil when it has no manifest or
// no limits) and its source (process plugins have a longer default
// timeout and no memory cap). Field by field (sdk/ABI.md, "Limits"):
//
//   - a field the config sets wins: the operator decides, and may lower
//     or raise it (up to MaxMemoryMiB for memory);
//   - else the manifest's request applies, if it is at most the host's
//     default: a plugin may ask for less (a shorter timeout, a smaller
//     memory) but never grant itself more; a request above the default
//     is an error that says which config field grants it;
//   - else the host's default.
//
// Concurrency is not in manifests: the config's, else GOMAXPROCS. A
// process plugin's MemoryMiB is 0 (the OS owns its memory) and its
// manifest's memory_mib is ignored.
func ResolveLimits(cfg Limits, asked *abi.Limits, process bool) (Limits, error) {
	var want abi.Limits
	if asked != nil {
		want = *asked
	}
	var errs []error
	// pick chooses one field: the config's, else the manifest's request
	// when it is within the default, else the default. show prints a
	// value of the field and grant is the config line that grants req.
	pick := func(conf, req, def int64, field string, show func(int64) string, grant string) int64 {
		switch {
		case conf > 0:
			return conf
		case req > def:
			errs = append(errs, fmt.Errorf("the manifest asks for %s %s, above the host's default %s: a plugin cannot raise its own limits; grant it in the plugin's config (limits: {%s})",
				field, show(req), show(def), grant))
			return def
		case req > 0:
			return req
		}
		return def
	}
	if want.MemoryMiB < 0 || want.TimeoutMillis < 0 || want.MaxOutputKiB < 0 {
		errs = append(errs, fmt.Errorf("the manifest's limits %+v have a negative field", want))
	}
	count := func(unit string) func(int64) string {
		return func(n int64) string { return fmt.Sprintf("%d %s", n, unit) }
	}
	out := Limits{Concurrency: cfg.Concurrency}
	if out.Concurrency <= 0 {
		out.Concurrency = runtime.GOMAXPROCS(0)
	}
	if !process {
		out.MemoryMiB = int(pick(int64(cfg.MemoryMiB), int64(want.MemoryMiB), DefaultMemoryMiB,
			"memory_mib", count("MiB"), fmt.Sprintf("memory_mib: %d", want.MemoryMiB)))
	}
	out.MaxOutputKiB = int(pick(int64(cfg.MaxOutputKiB), int64(want.MaxOutputKiB), DefaultMaxOutputKiB,
		"max_output_kib", count("KiB"), fmt.Sprintf("max_output_kib: %d", want.MaxOutputKiB)))
	def := DefaultTimeout
	if process {
		def = DefaultProcessTimeout
	}
	req := time.Duration(want.TimeoutMillis) * time.Millisecond
	out.Timeout = time.Duration(pick(int64(cfg.Timeout), int64(req), int64(def),
		"timeout_ms", func(n int64) string { return time.Duration(n).String() }, "timeout: "+req.String()))
	return out, errors.Join(errs...)
}
