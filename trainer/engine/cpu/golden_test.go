package cpu

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/stretchr/testify/require"
)

// hfDir is ../shared/testdata/hf/qwen2-tiny relative to the repository root.
func hfDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	return filepath.Join(root, "..", "shared", "testdata", "hf", "qwen2-tiny")
}

type golden struct {
	InputIDs    [][]int `json:"input_ids"`
	LogitsShape []int   `json:"logits_shape"`
	Loss        float64 `json:"logprob_loss"`
	Grads       map[string]struct {
		Norm   float64   `json:"norm"`
		First8 []float64 `json:"first8"`
	} `json:"grads"`
	GreedyPrompt []int `json:"greedy_prompt_ids"`
	GreedyOutput []int `json:"greedy_output_ids"`
}

func loadGolden(t testing.TB) (*net, golden, []float32) {
	dir := hfDir(t)
	cfg, err := model.ReadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	ts, err := model.LoadWeights(dir, cfg)
	require.NoError(t, err)
	lay := newLayout(cfg)
	flat, err := lay.fromTensors(ts)
	require.NoError(t, err)
	g, err := blas.Default()
	require.NoError(t, err)
	var gd golden
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &gd))
	raw, err := os.ReadFile(filepath.Join(dir, "logits.f32"))
	require.NoError(t, err)
	want := make([]float32, len(raw)/4)
	for i := range want {
		want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
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
