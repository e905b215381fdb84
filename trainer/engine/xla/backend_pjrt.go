//go:build cgo && !noxla

package xla

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
	gomlxxla "github.com/gomlx/gomlx/backends/xla"
)

// HasPJRT reports whether this binary can run graphs through a PJRT plugin.
const HasPJRT = true

// newPJRT loads the plugin at an absolute path. GoMLX's auto-installer
// runs only for plugin names that are not absolute paths; it is disabled
// here as well, so that no code path of this engine can download anything.
func newPJRT(plugin string) (backends.Backend, error) {
	gomlxxla.EnableAutoInstall(false)
	b, err := gomlxxla.New(plugin)
	if err != nil {
		return nil, fmt.Errorf("xla engine: load PJRT plugin %s: %w; %s", plugin, err, jaxCUDAHint)
	}
	return b, nil
}
