package grpchost

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// TestRegistryLoadsProcessPlugins goes through the host's registry: config
// section in, kind from the manifest, options in the environment.
func TestRegistryLoadsProcessPlugins(t *testing.T) {
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	require.NoError(t, r.Load(context.Background(), "hostile", host.PluginConfig{
		Process: bins.hostile, SHA256: bins.hostileSum,
		Options: map[string]any{"k": 1},
	}))
	p, err := r.Plugin("hostile")
	require.NoError(t, err)
	require.Equal(t, abi.KindVerifier, p.Kind)
	v, err := r.Verifier("hostile")
	require.NoError(t, err)
	got, err := v.Verify(context.Background(), ask("options", ""))
	require.NoError(t, err)
	require.JSONEq(t, `{"k":1}`, got.Detail)
	got, err = v.Verify(context.Background(), ask("4", "4"))
	require.NoError(t, err)
	require.Equal(t, 1.0, got.Score)

	err = r.Load(context.Background(), "unchecked", host.PluginConfig{Process: bins.hostile, SHA256: bins.exampleSum})
	require.ErrorIs(t, err, ErrChecksum)
}
