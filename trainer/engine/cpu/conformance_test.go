package cpu_test

import (
	"os"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/cpu"
	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	g, err := blas.Default()
	require.NoError(t, err)
	t.Logf("BLAS: %s (%s=%q)", g.Name(), blas.EnvVar, os.Getenv(blas.EnvVar))
	enginetest.Run(t, func(t testing.TB, opts engine.Options) engine.Policy {
		opts.Seed = 1
		p, err := engine.Open("cpu", opts)
		require.NoError(t, err)
		return p
	})
}

var (
	_ enginetest.Logitser   = (*cpu.Policy)(nil)
	_ enginetest.Gradienter = (*cpu.Policy)(nil)
)
