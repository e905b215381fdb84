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
// or Localizer), with the methods SHA256() string (the hex sha256 of the
// executable the serving process runs, computed at its start whether or
// not the config checks it; the registry records it and verdicts carry
// it) and optionally Manifest() abi.Manifest, and a Closer that stops the
// process. lim carries the
// limits to start with: the config's with the host's defaults filled in
// (Timeout is per call; the registry also applies the resolved timeout as
// a context deadline). Failures to start
// should be *PluginError with Op "load".
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
