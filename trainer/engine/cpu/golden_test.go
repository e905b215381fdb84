package cpu

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/stretchr/testify/require"
)

// loadGolden opens the transformers reference model as a bare net, with
// its golden.json and logits.f32 (the conformance suite's reference).
func loadGolden(t testing.TB) (*net, enginetest.Reference, []float32) {
	dir := enginetest.HFDir()
	cfg, err := model.ReadConfig(filepath.Join(dir, model.ConfigFile))
	require.NoError(t, err)
	ts, err := model.LoadWeights(dir, cfg)
	require.NoError(t, err)
	lay := newLayout(cfg)
	flat, err := lay.fromTensors(ts)
	require.NoError(t, err)
	g, err := blas.Default()
	require.NoError(t, err)
	gd, want := enginetest.LoadReference(t)
	return newNet(cfg, flat, g), gd, want
}

func TestGoldenLogits(t *testing.T) {
	m, gd, want := loadGolden(t)
	got := m.logits(&acts{}, pack(gd.InputIDs))
	require.Len(t, got, len(want))
	var worst float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("max |logit diff| = %.3g", worst)
	require.Less(t, worst, 1e-4)
}

func TestGoldenGradients(t *testing.T) {
	m, gd, _ := loadGolden(t)
	p := pack(gd.InputIDs)
	a := &acts{}
	m.forward(a, p)
	tg := targets(p)
	lp := make([]float32, len(p.tokens))
	nt := 0
	for _, v := range tg {
		if v >= 0 {
			nt++
		}
	}
	grad := make([]float32, m.lay.size)
	gw := newView(m.dm, grad)
	var loss float64
	m.head(a, p, tg, lp, func(i int, l float32) float32 {
		loss -= float64(l) / float64(nt)
		return -1 / float32(nt)
	}, &gw)
	m.backward(a, p, gw)
	require.InDelta(t, gd.Loss, loss, 1e-5)
	for _, s := range m.lay.segs {
		want, ok := gd.Grads[s.spec.Name]
		require.True(t, ok, s.spec.Name)
		g := grad[s.off : s.off+numel(s.spec.Shape)]
		var ss float64
		for _, v := range g {
			ss += float64(v) * float64(v)
		}
		norm := math.Sqrt(ss)
		require.InEpsilon(t, want.Norm, norm, 1e-3, "grad norm of %s", s.spec.Name)
		for i, w := range want.First8 {
			require.InDelta(t, w, g[i], 1e-4, "grad %s[%d]", s.spec.Name, i)
		}
	}
}
