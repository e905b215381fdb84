package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/rewind-rl/rewind/internal/atomicfile"
)

// Model types understood by the engines.
const (
	TypeQwen2 = "qwen2"
	TypeLlama = "llama"
)

// Config of a Llama/Qwen2-family decoder. The architecture is: token
// embedding; Layers blocks of (RMSNorm, grouped-query attention with rotary
// position embedding, residual, RMSNorm, SwiGLU MLP, residual); final
// RMSNorm; output head (the embedding matrix itself when TiedEmbeddings).
type Config struct {
	VocabSize    int // rows of the embedding and of the output head
	Hidden       int // d_model ("hidden_size")
	Intermediate int // SwiGLU width ("intermediate_size")
	Layers       int // "num_hidden_layers"
	Heads        int // query heads ("num_attention_heads")
	KVHeads      int // key/value heads ("num_key_value_heads"); Heads must be a multiple
	MaxPositions int // context length ("max_position_embeddings")
	// HeadDim is the width of one head: Hidden/Heads unless config.json
	// says "head_dim". Must be even (rotary embedding rotates pairs).
	HeadDim int
	// RopeTheta is the rotary base; read from top-level "rope_theta"
	// (transformers 4) or "rope_parameters": {"rope_theta": ...}
	// (transformers 5). Default 10000.
	RopeTheta float64
	// RMSNormEps is added to the mean square in RMSNorm ("rms_norm_eps",
	// default 1e-6).
	RMSNormEps float64
	// TiedEmbeddings: the output head reuses model.embed_tokens.weight and
	// no lm_head.weight exists ("tie_word_embeddings").
	TiedEmbeddings bool
	// QKVBias: q, k and v projections have biases. Always true for qwen2,
	// always false for llama (HF llama's "attention_bias" also biases o_proj,
	// which this family does not implement).
	QKVBias bool
	// ModelType is TypeQwen2 or TypeLlama.
	ModelType string
	// BOS and EOS token ids, -1 when absent.
	BOS, EOS int
}

// Validate reports every inconsistent field at once.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s = %d: must be > 0", name, v))
		}
	}
	pos("vocab_size", c.VocabSize)
	pos("hidden_size", c.Hidden)
	pos("intermediate_size", c.Intermediate)
	pos("num_hidden_layers", c.Layers)
	pos("num_attention_heads", c.Heads)
	pos("num_key_value_heads", c.KVHeads)
	pos("max_position_embeddings", c.MaxPositions)
	pos("head_dim", c.HeadDim)
	if c.Heads > 0 && c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		errs = append(errs, fmt.Errorf("num_attention_heads = %d is not a multiple of num_key_value_heads = %d", c.Heads, c.KVHeads))
	}
	if c.HeadDim > 0 && c.HeadDim%2 != 0 {
		errs = append(errs, fmt.Errorf("head_dim = %d: must be even for rotary embeddings", c.HeadDim))
	}
	if !(c.RopeTheta > 0) {
		errs = append(errs, fmt.Errorf("rope_theta = %v: must be > 0", c.RopeTheta))
	}
	if !(c.RMSNormEps > 0) {
		errs = append(errs, fmt.Errorf("rms_norm_eps = %v: must be > 0", c.RMSNormEps))
	}
	switch c.ModelType {
	case TypeQwen2:
		if !c.QKVBias {
			errs = append(errs, errors.New("model_type qwen2 always has q/k/v biases: QKVBias must be true"))
		}
	case TypeLlama:
		if c.QKVBias {
			errs = append(errs, errors.New("model_type llama with q/k/v biases has no Hugging Face equivalent (its attention_bias also biases o_proj): use model_type qwen2"))
		}
	default:
		errs = append(errs, fmt.Errorf("model_type %q: want %q or %q", c.ModelType, TypeQwen2, TypeLlama))
	}
	for _, t := range []struct {
		name string
		id   int
	}{{"bos_token_id", c.BOS}, {"eos_token_id", c.EOS}} {
		if t.id < -1 || (c.VocabSize > 0 && t.id >= c.VocabSize) {
			errs = append(errs, fmt.Errorf("%s = %d: must be -1 (none) or in [0, vocab_size = %d)", t.name, t.id, c.VocabSize))
		}
	}
	return errors.Join(errs...)
}

// NumParams is the number of scalar parameters.
func (c Config) NumParams() int {
	n := 0
	for _, p := range c.Params() {
		n += numElements(p.Shape)
	}
	return n
}

// WithVocab returns c with VocabSize n (presets leave the vocabulary to the
// tokenizer).
func (c Config) WithVocab(n int) Config {
	c.VocabSize = n
	return c
}

// hfConfig is the subset of a Hugging Face config.json that this family
// uses. Pointers distinguish "absent" from zero.
type hfConfig struct {
	Architectures     []string        `json:"architectures,omitempty"`
	ModelType         string          `json:"model_type"`
	VocabSize         *int            `json:"vocab_size"`
	HiddenSize        *int            `json:"hidden_size"`
	IntermediateSize  *int            `json:"intermediate_size"`
	NumHiddenLayers   *int            `json:"num_hidden_layers"`
	NumAttentionHeads *int            `json:"num_attention_heads"`
	NumKeyValueHeads  *int            `json:"num_key_value_heads"`
	HeadDim           *int            `json:"head_dim"`
	MaxPositions      *int            `json:"max_position_embeddings"`
	RopeTheta         *float64        `json:"rope_theta"`
	RopeParameters    json.RawMessage `json:"rope_parameters"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	RMSNormEps        *float64        `json:"rms_norm_eps"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	AttentionBias     *bool           `json:"attention_bias"`
	MLPBias           *bool           `json:"mlp_bias"`
	HiddenAct         string          `json:"hidden_act"`
	UseSlidingWindow  *bool           `json:"use_sliding_window"`
	BOSTokenID        json.RawMessage `json:"bos_token_id"`
	EOSTokenID        json.RawMessage `json:"eos_token_id"`
}

// ReadConfig reads a Hugging Face config.json of model_type "qwen2" or
// "llama". Features this family's engines do not implement (rope scaling,
// sliding-window attention, MLP biases, activations other than SiLU) are
// refused with an error naming the field, never silently ignored.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read model config: %w", err)
	}
	c, err := parseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("model config %s: %w", path, err)
	}
	return c, nil
}

func parseConfig(b []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, fmt.Errorf("not a JSON object: %w", err)
	}
	var errs []error
	need := func(field string, v *int) int {
		if v == nil {
			errs = append(errs, fmt.Errorf("field %q: missing", field))
			return 0
		}
		return *v
	}
	c := Config{
		ModelType:    h.ModelType,
		VocabSize:    need("vocab_size", h.VocabSize),
		Hidden:       need("hidden_size", h.HiddenSize),
		Intermediate: need("intermediate_size", h.IntermediateSize),
		Layers:       need("num_hidden_layers", h.NumHiddenLayers),
		Heads:        need("num_attention_heads", h.NumAttentionHeads),
		MaxPositions: need("max_position_embeddings", h.MaxPositions),
		RopeTheta:    10000,
		RMSNormEps:   1e-6,
	}
	switch h.ModelType {
	case TypeQwen2:
		c.QKVBias = true
		if h.AttentionBias != nil && !*h.AttentionBias {
			errs = append(errs, errors.New(`field "attention_bias": qwen2 always has q/k/v biases; false is not supported`))
		}
	case TypeLlama:
		if h.AttentionBias != nil && *h.AttentionBias {
			// HF llama with attention_bias also biases o_proj.
			errs = append(errs, errors.New(`field "attention_bias": true is not supported for llama (it also adds an o_proj bias)`))
		}
	case "":
		errs = append(errs, errors.New(`field "model_type": missing`))
	default:
		errs = append(errs, fmt.Errorf(`field "model_type": %q is not supported (want "qwen2" or "llama")`, h.ModelType))
	}
	c.KVHeads = c.Heads
	if h.NumKeyValueHeads != nil {
		c.KVHeads = *h.NumKeyValueHeads
	}
	if h.HeadDim != nil {
		c.HeadDim = *h.HeadDim
	} else if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
		if c.Hidden%c.Heads != 0 {
			errs = append(errs, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d and no head_dim is given", c.Hidden, c.Heads))
		}
	}
	if h.RopeTheta != nil {
		c.RopeTheta = *h.RopeTheta
	}
	if len(h.RopeParameters) > 0 && string(h.RopeParameters) != "null" {
		var rp struct {
			RopeTheta *float64 `json:"rope_theta"`
			RopeType  string   `json:"rope_type"`
		}
		if err := json.Unmarshal(h.RopeParameters, &rp); err != nil {
			errs = append(errs, fmt.Errorf(`field "rope_parameters": %w`, err))
		}
		if rp.RopeType != "" && rp.RopeType != "default" {
			errs = append(errs, fmt.Errorf(`field "rope_parameters.rope_type": %q is not supported (only "default")`, rp.RopeType))
		}
		if rp.RopeTheta != nil {
			c.RopeTheta = *rp.RopeTheta
		}
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		errs = append(errs, errors.New(`field "rope_scaling": rope scaling is not supported; remove it or use a model without it`))
	}
	if h.RMSNormEps != nil {
		c.RMSNormEps = *h.RMSNormEps
	}
	if h.TieWordEmbeddings != nil {
		c.TiedEmbeddings = *h.TieWordEmbeddings
	}
	if h.MLPBias != nil && *h.MLPBias {
		errs = append(errs, errors.New(`field "mlp_bias": true is not supported`))
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		errs = append(errs, fmt.Errorf(`field "hidden_act": %q is not supported (only "silu")`, h.HiddenAct))
	}
	if h.UseSlidingWindow != nil && *h.UseSlidingWindow {
		errs = append(errs, errors.New(`field "use_sliding_window": sliding-window attention is not supported`))
	}
	var err error
	if c.BOS, err = tokenID(h.BOSTokenID); err != nil {
		errs = append(errs, fmt.Errorf(`field "bos_token_id": %w`, err))
	}
	if c.EOS, err = tokenID(h.EOSTokenID); err != nil {
		errs = append(errs, fmt.Errorf(`field "eos_token_id": %w`, err))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// tokenID decodes a token id that may be absent, null, a number or a list
// of numbers (HF allows several EOS ids; the first is used).
func tokenID(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return -1, nil
	}
	var id int
	if err := json.Unmarshal(raw, &id); err == nil {
		return id, nil
	}
	var ids []int
	if err := json.Unmarshal(raw, &ids); err != nil {
		return 0, fmt.Errorf("want an integer, a list of integers or null, got %s", raw)
	}
	if len(ids) == 0 {
		return -1, nil
	}
	return ids[0], nil
}

// WriteConfig writes an HF-compatible config.json (loadable by transformers
// 4 and 5 as Qwen2ForCausalLM or LlamaForCausalLM) atomically.
func (c Config) WriteConfig(path string) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("write model config %s: %w", path, err)
	}
	var nullable = func(id int) any {
		if id < 0 {
			return nil
		}
		return id
	}
	m := map[string]any{
		"model_type":              c.ModelType,
		"vocab_size":              c.VocabSize,
		"hidden_size":             c.Hidden,
		"intermediate_size":       c.Intermediate,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"max_position_embeddings": c.MaxPositions,
		"rope_theta":              c.RopeTheta,
		"rope_parameters":         map[string]any{"rope_theta": c.RopeTheta, "rope_type": "default"},
		"rms_norm_eps":            c.RMSNormEps,
		"tie_word_embeddings":     c.TiedEmbeddings,
		"hidden_act":              "silu",
		"attention_dropout":       0.0,
		"initializer_range":       0.02,
		"bos_token_id":            nullable(c.BOS),
		"eos_token_id":            nullable(c.EOS),
		"use_cache":               true,
		"torch_dtype":             "float32",
		"dtype":                   "float32",
	}
	switch c.ModelType {
	case TypeQwen2:
		m["architectures"] = []string{"Qwen2ForCausalLM"}
		m["use_sliding_window"] = false
		m["max_window_layers"] = c.Layers
	case TypeLlama:
		m["architectures"] = []string{"LlamaForCausalLM"}
		m["attention_bias"] = false
		m["mlp_bias"] = false
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// Presets for from-scratch training. VocabSize is 0: set it with WithVocab
// from the tokenizer, and set BOS/EOS the same way.
var presets = map[string]Config{
	// nano: for unit tests and gradient checks (GQA, biases, untied head).
	"nano": {Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8, MaxPositions: 64,
		RopeTheta: 10000, RMSNormEps: 1e-6, QKVBias: true, ModelType: TypeQwen2, BOS: -1, EOS: -1},
	// tiny: about 0.4M parameters with a vocabulary of ~100.
	"tiny": {Hidden: 128, Intermediate: 352, Layers: 2, Heads: 4, KVHeads: 4, HeadDim: 32, MaxPositions: 128,
		RopeTheta: 10000, RMSNormEps: 1e-6, TiedEmbeddings: true, QKVBias: true, ModelType: TypeQwen2, BOS: -1, EOS: -1},
	// small: about 25M parameters (without the embedding).
	"small": {Hidden: 512, Intermediate: 1408, Layers: 8, Heads: 8, KVHeads: 8, HeadDim: 64, MaxPositions: 512,
		RopeTheta: 10000, RMSNormEps: 1e-6, TiedEmbeddings: true, QKVBias: true, ModelType: TypeQwen2, BOS: -1, EOS: -1},
}

// Preset returns the named preset configuration with VocabSize 0.
func Preset(name string) (Config, error) {
	c, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown model preset %q (have %v)", name, Presets())
	}
	return c, nil
}

// Presets lists the preset names, sorted.
func Presets() []string { return slices.Sorted(maps.Keys(presets)) }

// ParamSpec names one parameter tensor and its shape (Hugging Face layout:
// a Linear weight is [out, in]).
type ParamSpec struct {
	Name  string
	Shape []int
}

// Params lists the parameters in canonical order: the embedding; per layer
// input_layernorm, q/k/v (each weight then bias when QKVBias), o_proj,
// post_attention_layernorm, gate/up/down; the final norm; lm_head unless
// TiedEmbeddings.
func (c Config) Params() []ParamSpec {
	q := c.Heads * c.HeadDim
	kv := c.KVHeads * c.HeadDim
	ps := []ParamSpec{{"model.embed_tokens.weight", []int{c.VocabSize, c.Hidden}}}
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		ps = append(ps, ParamSpec{p + "input_layernorm.weight", []int{c.Hidden}})
		for _, proj := range []struct {
			name string
			out  int
		}{{"q_proj", q}, {"k_proj", kv}, {"v_proj", kv}} {
			ps = append(ps, ParamSpec{p + "self_attn." + proj.name + ".weight", []int{proj.out, c.Hidden}})
			if c.QKVBias {
				ps = append(ps, ParamSpec{p + "self_attn." + proj.name + ".bias", []int{proj.out}})
			}
		}
		ps = append(ps,
			ParamSpec{p + "self_attn.o_proj.weight", []int{c.Hidden, q}},
			ParamSpec{p + "post_attention_layernorm.weight", []int{c.Hidden}},
			ParamSpec{p + "mlp.gate_proj.weight", []int{c.Intermediate, c.Hidden}},
			ParamSpec{p + "mlp.up_proj.weight", []int{c.Intermediate, c.Hidden}},
			ParamSpec{p + "mlp.down_proj.weight", []int{c.Hidden, c.Intermediate}},
		)
	}
	ps = append(ps, ParamSpec{"model.norm.weight", []int{c.Hidden}})
	if !c.TiedEmbeddings {
		ps = append(ps, ParamSpec{"lm_head.weight", []int{c.VocabSize, c.Hidden}})
	}
	return ps
}
