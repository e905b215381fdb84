package run

import (
	"errors"
	"fmt"
)

// pluginSources are the keys of a plugin config that say where the plugin
// comes from; exactly one must be set.
var pluginSources = []string{"builtin", "wasm", "process"}

// validatePlugin checks the shape of one plugin config.
func validatePlugin(m map[string]any) error {
	n := 0
	for _, s := range pluginSources {
		if v, ok := m[s]; ok {
			if str, isStr := v.(string); !isStr || str == "" {
				return fmt.Errorf("%s: want a non-empty string", s)
			}
			n++
		}
	}
	if n != 1 {
		return errors.New("set exactly one of builtin, wasm or process")
	}
	return nil
}
