package host

import (
	"context"
	"io"
	"sync"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// ProcessSource is what a process loader needs to start a gRPC plugin.
type ProcessSource struct {
	Command         string
	Args            []string
	SHA256          string // hex; empty only when Insecure
	Insecure        bool
	DisableAutoMTLS bool
	Options         map[string]any
	// ResolveLimits turns the limits the plugin's manifest asks for (nil
	// for none) into the limits it runs under (ResolveLimits with the
	// plugin's config). The loader calls it with the first process's
	// manifest and applies the Timeout and MaxOutputKiB it returns; an
	// error fails the load.
	ResolveLimits func(asked *abi.Limits) (Limits, error)
}

// ProcessLoader starts the process plugin named name and returns a value
// implementing the interface of its kind (Verifier, RewardModel, Segmenter
// or Localizer) and Digester (the registry records the digest and verdicts
// carry it), optionally ManifestReporter, and a Closer that stops the
// process. lim carries the limits to start with: the config's with the
// host's defaults filled in (Timeout is per call; the registry also applies
// the resolved timeout as a context deadline). Failures to start should be
// *PluginError with Op "load".
type ProcessLoader func(ctx context.Context, name string, src ProcessSource, lim Limits) (plugin any, closer io.Closer, err error)

// The seam to the process host. Package host/internal/grpc implements the
// loader and registers it from its init with RegisterProcessLoader; it
// imports this package (for PluginError and the kinds), so this package
// cannot import it back. A binary enables `process:` sources by linking
// that package through a public package under host/ that imports it
// (host/internal/grpc is internal to host/).
var (
	processMu     sync.Mutex
	processLoader ProcessLoader
)

// RegisterProcessLoader installs the loader of `process:` plugins. It is
// meant for the process host's init and panics when called twice.
func RegisterProcessLoader(l ProcessLoader) {
	processMu.Lock()
	defer processMu.Unlock()
	if processLoader != nil {
		panic("host: RegisterProcessLoader called twice")
	}
	processLoader = l
}

func currentProcessLoader() ProcessLoader {
	processMu.Lock()
	defer processMu.Unlock()
	return processLoader
}

// Digester is the capability of a plugin implementation that reports the
// hex sha256 of the code serving it: the executable of the running process
// for a process plugin (computed when the process starts, whether or not
// the config checks it, so it changes when a restart finds a new
// executable), the module's bytes for a Wasm plugin. The registry probes a
// process loader's result for it and refuses a result without it; the
// result must be safe to call concurrently with the plugin's calls.
type Digester interface {
	SHA256() string
}

// ManifestReporter is the optional capability of a plugin implementation
// that knows its manifest (for a process plugin, the one the serving
// process reported). When a process loader's result has it, the registry
// takes the plugin's kind and requested limits from it; without it, the
// kind is found from the interfaces the result implements and no limits
// are requested.
type ManifestReporter interface {
	Manifest() abi.Manifest
}
