package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testref"
)

func TestReadConfigReference(t *testing.T) {
	c, err := ReadConfig(filepath.Join(testref.RequireHFDir(t), "config.json"))
	require.NoError(t, err)
	require.Equal(t, Config{
		VocabSize: 600, Hidden: 64, Intermediate: 176, Layers: 2, Heads: 4, KVHeads: 2,
		MaxPositions: 512, HeadDim: 16, RopeTheta: 10000, RMSNormEps: 1e-6,
		TiedEmbeddings: false, QKVBias: true, ModelType: "qwen2", BOS: -1, EOS: 0,
	}, c)
}

func TestWriteConfigRoundTripReference(t *testing.T) {
	c, err := ReadConfig(filepath.Join(testref.RequireHFDir(t), "config.json"))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, c.WriteConfig(p))
	back, err := ReadConfig(p)
	require.NoError(t, err)
	require.Equal(t, c, back)
	var m map[string]any
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, []any{"Qwen2ForCausalLM"}, m["architectures"])
	require.Equal(t, map[string]any{"rope_theta": 10000.0, "rope_type": "default"}, m["rope_parameters"])
	require.Nil(t, m["bos_token_id"])

	llama := c
	llama.ModelType = TypeLlama
	require.ErrorContains(t, llama.Validate(), "llama with q/k/v biases has no Hugging Face equivalent")
	require.ErrorContains(t, llama.WriteConfig(p), p)
}

func TestLoadWeightsReference(t *testing.T) {
	dir := testref.RequireHFDir(t)
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

func TestLoadWeightsErrors(t *testing.T) {
	base, _ := Preset("nano")
	base = base.WithVocab(20)
	write := func(t *testing.T, ts []*Tensor) string {
		dir := t.TempDir()
		require.NoError(t, WriteSafetensors(filepath.Join(dir, WeightsFile), ts, nil))
		return dir
	}
	drop := func(ts []*Tensor, name string) []*Tensor {
		var out []*Tensor
		for _, x := range ts {
			if x.Name != name {
				out = append(out, x)
			}
		}
		return out
	}
	t.Run("missing lm_head", func(t *testing.T) {
		dir := write(t, drop(InitWeights(base, 1), "lm_head.weight"))
		_, err := LoadWeights(dir, base)
		require.ErrorContains(t, err, `tensor "lm_head.weight" (shape [20 32]): missing from`)
		require.ErrorContains(t, err, `"tie_word_embeddings": true`)
	})
	t.Run("missing bias", func(t *testing.T) {
		dir := write(t, drop(InitWeights(base, 1), "model.layers.1.self_attn.k_proj.bias"))
		_, err := LoadWeights(dir, base)
		require.ErrorContains(t, err, `tensor "model.layers.1.self_attn.k_proj.bias" (shape [16]): missing`)
	})
	t.Run("unexpected", func(t *testing.T) {
		ts := append(InitWeights(base, 1), &Tensor{Name: "model.layers.2.mlp.up_proj.weight", Shape: []int{1}, Data: []float32{0}},
			&Tensor{Name: "model.layers.0.self_attn.rotary_emb.inv_freq", Shape: []int{1}, Data: []float32{0}})
		_, err := LoadWeights(write(t, ts), base)
		require.ErrorContains(t, err, `tensor "model.layers.2.mlp.up_proj.weight" in`)
		require.ErrorContains(t, err, "not a parameter of this qwen2 model (2 layers")
		require.NotContains(t, err.Error(), "inv_freq")
	})
	t.Run("shape mismatch", func(t *testing.T) {
		c := base
		c.Intermediate = 48
		_, err := LoadWeights(write(t, InitWeights(c, 1)), base)
		require.ErrorContains(t, err, `tensor "model.layers.0.mlp.gate_proj.weight" in`)
		require.ErrorContains(t, err, "shape [48 32], but config.json implies [64 32]")
	})
	t.Run("tied with equal head", func(t *testing.T) {
		c := base
		c.TiedEmbeddings = true
		ts := InitWeights(c, 1)
		ts = append(ts, &Tensor{Name: "lm_head.weight", Shape: ts[0].Shape, Data: ts[0].Data})
		got, err := LoadWeights(write(t, ts), c)
		require.NoError(t, err)
		require.Len(t, got, len(c.Params()))
	})
	t.Run("tied with distinct head", func(t *testing.T) {
		c := base
		c.TiedEmbeddings = true
		ts := InitWeights(base, 1) // has a random lm_head
		_, err := LoadWeights(write(t, ts), c)
		require.ErrorContains(t, err, `differs from model.embed_tokens.weight`)
	})
	t.Run("truncated", func(t *testing.T) {
		dir := write(t, InitWeights(base, 1))
		p := filepath.Join(dir, WeightsFile)
		b, _ := os.ReadFile(p)
		require.NoError(t, os.WriteFile(p, b[:len(b)-10], 0o644))
		_, err := LoadWeights(dir, base)
		require.ErrorContains(t, err, p)
		require.ErrorContains(t, err, "truncated file?")
	})
	t.Run("no weights", func(t *testing.T) {
		_, err := LoadWeights(t.TempDir(), base)
		require.ErrorContains(t, err, "has neither model.safetensors nor model.safetensors.index.json")
	})
	t.Run("sharded", func(t *testing.T) {
		dir := t.TempDir()
		ts := InitWeights(base, 3)
		require.NoError(t, WriteSafetensors(filepath.Join(dir, "a.safetensors"), ts[:5], nil))
		require.NoError(t, WriteSafetensors(filepath.Join(dir, "b.safetensors"), ts[5:], nil))
		wm := map[string]string{}
		for i, x := range ts {
			wm[x.Name] = map[bool]string{true: "a.safetensors", false: "b.safetensors"}[i < 5]
		}
		b, _ := json.Marshal(map[string]any{"weight_map": wm})
		require.NoError(t, os.WriteFile(filepath.Join(dir, WeightsIndex), b, 0o644))
		got, err := LoadWeights(dir, base)
		require.NoError(t, err)
		require.Equal(t, ts, got)
	})
}

func TestReadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"missing fields", `{"model_type":"llama","vocab_size":10}`, `field "hidden_size": missing`},
		{"bad type", `{"model_type":"gpt2"}`, `"model_type": "gpt2" is not supported`},
		{"rope scaling", `{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":8,"rope_scaling":{"type":"linear"}}`, `field "rope_scaling"`},
		{"gqa", `{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":3,"max_position_embeddings":8}`, "not a multiple of num_key_value_heads = 3"},
		{"act", `{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":8,"hidden_act":"gelu"}`, `"hidden_act": "gelu"`},
		{"eos", `{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":8,"eos_token_id":"x"}`, `field "eos_token_id"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.json")
			require.NoError(t, os.WriteFile(p, []byte(tc.json), 0o644))
			_, err := ReadConfig(p)
			require.ErrorContains(t, err, p)
			require.ErrorContains(t, err, tc.want)
		})
	}
	// transformers 4 style: top-level rope_theta, list of EOS ids, llama.
	p := filepath.Join(t.TempDir(), "config.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"max_position_embeddings":8,"rope_theta":500000.0,"eos_token_id":[7,8],"bos_token_id":1,"tie_word_embeddings":true}`), 0o644))
	c, err := ReadConfig(p)
	require.NoError(t, err)
	require.Equal(t, Config{VocabSize: 10, Hidden: 8, Intermediate: 8, Layers: 1, Heads: 2, KVHeads: 2, MaxPositions: 8, HeadDim: 4,
		RopeTheta: 500000, RMSNormEps: 1e-6, TiedEmbeddings: true, ModelType: "llama", BOS: 1, EOS: 7}, c)
}
