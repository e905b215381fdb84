package cpu

import (
	"fmt"
	"slices"

	"github.com/rewind-rl/rewind/trainer/model"
)

// dims are the sizes the kernels use, derived from a model.Config.
type dims struct {
	d, hd, heads, kvHeads, inter, vocab, layers int
	qDim, kvDim, qkv                            int // qkv = qDim + 2*kvDim
	bias, tied                                  bool
	eps                                         float64
	maxPos                                      int
}

func newDims(c model.Config) dims {
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	return dims{d: c.Hidden, hd: c.HeadDim, heads: c.Heads, kvHeads: c.KVHeads, inter: c.Intermediate,
		vocab: c.VocabSize, layers: c.Layers, qDim: q, kvDim: kv, qkv: q + 2*kv,
		bias: c.QKVBias, tied: c.TiedEmbeddings, eps: c.RMSNormEps, maxPos: c.MaxPositions}
}

// layerView points into a flat buffer (weights, gradients or optimiser
// moments share one layout). q, k and v projections are stored as one
// [qkv, d] matrix (their Hugging Face tensors stacked by rows), and gate
// and up as one [2*inter, d] matrix, so each is a single GEMM.
type layerView struct {
	ln1, wqkv, bqkv, wo, ln2, wgu, wd []float32
}

// view is the parameter layout over one flat buffer.
type view struct {
	flat         []float32
	embed, normF []float32
	head         []float32 // == embed when tied
	layers       []layerView
}

// segment maps a Hugging Face tensor to a range of the flat buffer.
type segment struct {
	spec model.ParamSpec
	off  int
}

// layout lists where each Hugging Face tensor lives in the flat buffer.
type layout struct {
	segs []segment // in c.Params() order
	size int
}

func newLayout(c model.Config) layout {
	dm := newDims(c)
	specs := c.Params()
	byName := map[string]model.ParamSpec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	offs := map[string]int{}
	n := 0
	put := func(name string) {
		s, ok := byName[name]
		if !ok {
			return
		}
		offs[name] = n
		n += numel(s.Shape)
	}
	put("model.embed_tokens.weight")
	for i := 0; i < dm.layers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		for _, nm := range []string{"input_layernorm.weight",
			"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
			"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
			"self_attn.o_proj.weight", "post_attention_layernorm.weight",
			"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"} {
			put(p + nm)
		}
	}
	put("model.norm.weight")
	put("lm_head.weight")
	l := layout{size: n}
	for _, s := range specs {
		off, ok := offs[s.Name]
		if !ok {
			panic("cpu: parameter " + s.Name + " has no place in the engine layout")
		}
		l.segs = append(l.segs, segment{spec: s, off: off})
	}
	if len(offs) != len(specs) {
		panic("cpu: engine layout and model.Config.Params disagree")
	}
	return l
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// newView slices flat (of layout size) into named parameters.
func newView(dm dims, flat []float32) view {
	v := view{flat: flat}
	off := 0
	take := func(n int) []float32 {
		s := flat[off : off+n : off+n]
		off += n
		return s
	}
	v.embed = take(dm.vocab * dm.d)
	for i := 0; i < dm.layers; i++ {
		var l layerView
		l.ln1 = take(dm.d)
		l.wqkv = take(dm.qkv * dm.d)
		if dm.bias {
			l.bqkv = take(dm.qkv)
		}
		l.wo = take(dm.d * dm.qDim)
		l.ln2 = take(dm.d)
		l.wgu = take(2 * dm.inter * dm.d)
		l.wd = take(dm.d * dm.inter)
		v.layers = append(v.layers, l)
	}
	v.normF = take(dm.d)
	if dm.tied {
		v.head = v.embed
	} else {
		v.head = take(dm.vocab * dm.d)
	}
	if off != len(flat) {
		panic(fmt.Sprintf("cpu: layout covers %d of %d values", off, len(flat)))
	}
	return v
}

// fromTensors copies tensors in c.Params() order into a flat buffer.
func (l layout) fromTensors(ts []*model.Tensor) ([]float32, error) {
	if len(ts) != len(l.segs) {
		return nil, fmt.Errorf("got %d weight tensors, want %d", len(ts), len(l.segs))
	}
	flat := make([]float32, l.size)
	for i, s := range l.segs {
		t := ts[i]
		if t.Name != s.spec.Name || !slices.Equal(t.Shape, s.spec.Shape) || len(t.Data) != numel(s.spec.Shape) {
			return nil, fmt.Errorf("weight tensor %d is %q %v, want %q %v", i, t.Name, t.Shape, s.spec.Name, s.spec.Shape)
		}
		copy(flat[s.off:], t.Data)
	}
	return flat, nil
}

// toTensors copies a flat buffer out as tensors in c.Params() order, with
// the given name prefix (for optimiser moments).
func (l layout) toTensors(flat []float32, prefix string) []*model.Tensor {
	out := make([]*model.Tensor, len(l.segs))
	for i, s := range l.segs {
		n := numel(s.spec.Shape)
		out[i] = &model.Tensor{Name: prefix + s.spec.Name, Shape: slices.Clone(s.spec.Shape), Data: slices.Clone(flat[s.off : s.off+n])}
	}
	return out
}
