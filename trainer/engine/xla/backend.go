package xla

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// Backend names accepted in Extra["backend"].
const (
	// BackendGo is GoMLX's pure-Go backend (simplego): no cgo, no PJRT,
	// slow; for tests and machines without an accelerator.
	BackendGo = "go"
	// BackendPJRT runs the graphs through XLA via a PJRT plugin given by
	// Extra["pjrt_plugin"] (an absolute path). Needs a cgo build without
	// the noxla tag.
	BackendPJRT = "pjrt"
)

// jaxCUDAHint says where a CUDA PJRT plugin usually is.
const jaxCUDAHint = "JAX's CUDA plugin usually lives at <python site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so " +
	"(pip install \"jax[cuda13]\"; xla_cuda12 for CUDA 12), and the site-packages/nvidia/*/lib folders must be on LD_LIBRARY_PATH"

// ErrNoPJRT is returned when the PJRT backend is asked for in a binary
// built without it (CGO_ENABLED=0 or the noxla tag).
var ErrNoPJRT = errors.New("this binary was built without the XLA/PJRT backend (CGO_ENABLED=0 or -tags noxla): rebuild with cgo, or use backend \"go\"")

// newBackend opens the backend named by kind. For BackendGo, sequential
// runs the graph's ops one after another (GoMLX's ops_sequential option;
// on a 2-core machine the parallel executor only adds scheduling cost).
func newBackend(kind, plugin string, sequential bool) (backends.Backend, error) {
	switch kind {
	case BackendGo:
		cfg := ""
		if sequential {
			cfg = "ops_sequential"
		}
		b, err := simplego.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("xla engine: go backend: %w", err)
		}
		return b, nil
	case BackendPJRT:
		if err := checkPlugin(plugin); err != nil {
			return nil, err
		}
		return newPJRT(plugin)
	}
	return nil, fmt.Errorf("xla engine: extra backend = %q: want %q (pure Go, for tests) or %q (XLA through a PJRT plugin)", kind, BackendGo, BackendPJRT)
}

// checkPlugin validates a PJRT plugin path before anything is loaded, so
// that GoMLX never falls back to searching (or auto-installing) plugins.
func checkPlugin(path string) error {
	if path == "" {
		return fmt.Errorf("xla engine: extra pjrt_plugin is empty: set it to the absolute path of a PJRT plugin .so; %s", jaxCUDAHint)
	}
	if !filepath.IsAbs(path) {
		return fmt.Errorf("xla engine: extra pjrt_plugin = %q is not an absolute path (a bare name would make GoMLX search for, and try to download, a plugin); %s", path, jaxCUDAHint)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("xla engine: pjrt_plugin %s: %w; %s", path, err, jaxCUDAHint)
	}
	if st.IsDir() || !strings.HasSuffix(path, ".so") {
		return fmt.Errorf("xla engine: pjrt_plugin %s is not a shared library (.so file); %s", path, jaxCUDAHint)
	}
	return nil
}
