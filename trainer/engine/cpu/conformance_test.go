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
	enginetest.Run(t, func(t testing.TB, dir string, opt engine.Optim) engine.Policy {
		p, err := engine.Open("cpu", engine.Options{Dir: dir, Optim: opt, Seed: 1})
		require.NoError(t, err)
		return p
	})
}

var (
	_ enginetest.Logitser   = (*cpu.Policy)(nil)
	_ enginetest.Gradienter = (*cpu.Policy)(nil)
)
