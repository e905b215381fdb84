package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// hfDir is ../shared/testdata/hf/qwen2-tiny relative to the repository root.
func hfDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, "..", "shared", "testdata", "hf", "qwen2-tiny")
			_, err := os.Stat(dir)
			require.NoError(t, err, "reference data must sit beside the repository")
			return dir
		}
		require.NotEqual(t, d, filepath.Dir(d), "no go.mod above %s", wd)
	}
}

func TestReadConfigReference(t *testing.T) {
	c, err := ReadConfig(filepath.Join(hfDir(t), "config.json"))
	require.NoError(t, err)
	require.Equal(t, Config{
		VocabSize: 600, Hidden: 64, Intermediate: 176, Layers: 2, Heads: 4, KVHeads: 2,
		MaxPositions: 512, HeadDim: 16, RopeTheta: 10000, RMSNormEps: 1e-6,
		TiedEmbeddings: false, QKVBias: true, ModelType: "qwen2", BOS: -1, EOS: 0,
	}, c)
}

func TestLoadWeightsReference(t *testing.T) {
	dir := hfDir(t)
	c, err := ReadConfig(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	ws, err := LoadWeights(dir, c)
	require.NoError(t, err)
	specs := c.Params()
	require.Len(t, ws, len(specs))
	for i, p := range specs {
		require.Equal(t, p.Name, ws[i].Name)
		require.Equal(t, p.Shape, ws[i].Shape)
	}
	require.Equal(t, "lm_head.weight", ws[len(ws)-1].Name)

	// Every tensor of the file is used; the first values match golden.json's
	// record of them indirectly through the gradient list's names.
	var golden struct {
		Grads map[string]json.RawMessage `json:"grads"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &golden))
	require.Len(t, golden.Grads, len(specs))
	for _, p := range specs {
		require.Contains(t, golden.Grads, p.Name)
	}
}

func TestParamsCounts(t *testing.T) {
	for _, tc := range []struct {
		preset string
		vocab  int
		lo, hi int
	}{
		{"tiny", 100, 380_000, 440_000},
		{"small", 100, 24_000_000, 27_000_000},
		{"nano", 50, 10_000, 40_000},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			c, err := Preset(tc.preset)
			require.NoError(t, err)
			require.Error(t, c.Validate(), "a preset needs a vocabulary")
			c = c.WithVocab(tc.vocab)
			require.NoError(t, c.Validate())
			n := c.NumParams()
			require.True(t, n >= tc.lo && n <= tc.hi, "%s has %d params", tc.preset, n)
		})
	}
	_, err := Preset("huge")
	require.ErrorContains(t, err, `unknown model preset "huge"`)
	require.Equal(t, []string{"nano", "small", "tiny"}, Presets())
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, tied := range []bool{false, true} {
		c, _ := Preset("nano")
		c = c.WithVocab(40)
		c.TiedEmbeddings = tied
		c.EOS = 3
		dir := t.TempDir()
		ws := InitWeights(c, 7)
		require.NoError(t, SaveWeights(dir, c, ws))
		c2, err := ReadConfig(filepath.Join(dir, ConfigFile))
		require.NoError(t, err)
		require.Equal(t, c, c2)
		got, err := LoadWeights(dir, c2)
		require.NoError(t, err)
		require.Equal(t, ws, got)
		// Same seed, same weights; another seed differs.
		require.Equal(t, ws, InitWeights(c, 7))
		require.NotEqual(t, ws[0].Data, InitWeights(c, 8)[0].Data)
	}
}

func TestInitWeightsStats(t *testing.T) {
	c, _ := Preset("tiny")
	ws := InitWeights(c.WithVocab(64), 1)
	for _, w := range ws {
		switch {
		case strings.HasSuffix(w.Name, "norm.weight"):
			for _, v := range w.Data {
				require.Equal(t, float32(1), v)
			}
		case strings.HasSuffix(w.Name, ".bias"):
			for _, v := range w.Data {
				require.Zero(t, v)
			}
		default:
			var s, s2 float64
			for _, v := range w.Data {
				s += float64(v)
				s2 += float64(v) * float64(v)
			}
			n := float64(len(w.Data))
			std := s2/n - (s/n)*(s/n)
			require.InDelta(t, 0.02*0.02, std, 0.02*0.02*0.1, w.Name)
		}
	}
}
