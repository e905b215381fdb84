package run

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A plugin that fails to load gives an error naming the config key, the
// plugin and its file, never a panic (loadPlugins once closed the nil set
// it returned).
func TestLoadPluginsErrors(t *testing.T) {
	notWasm := writeFile(t, "verifier.wasm", "not a module\n")
	missing := filepath.Join(t.TempDir(), "missing.wasm")
	tests := []struct {
		name     string
		verifier string
		plugins  map[string]map[string]any
		want     []string
	}{
		{"unknown builtin", "nosuchverifier", nil,
			[]string{"reward.verifier:", `plugin "nosuchverifier"`, "no builtin plugin"}},
		{"missing wasm", "v", map[string]map[string]any{"v": {"wasm": missing}},
			[]string{"reward.verifier (wasm " + missing + ")", `plugin "v"`, "no such file"}},
		{"text file named .wasm", "v", map[string]map[string]any{"v": {"wasm": notWasm}},
			[]string{"reward.verifier (wasm " + notWasm + ")", `plugin "v"`, "not a WebAssembly binary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Preset("grpo")
			require.NoError(t, err)
			c.Reward.Verifier, c.Plugins = tt.verifier, tt.plugins
			ps, err := loadPlugins(context.Background(), c)
			require.Nil(t, ps)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}
