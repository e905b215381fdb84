package xla

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/cpu"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
	"github.com/rewind-rl/rewind/trainer/model"
)

// clipBatch is a LossClip batch on the reference ids with mixed-sign
// weights and old log-probs offset so that some ratios clip.
func clipBatch(t *testing.T, p engine.Policy, ids [][]int) engine.Batch {
	lps, err := p.LogProbs(context.Background(), ids)
	require.NoError(t, err)
	b := engine.Batch{Loss: engine.LossClip, ClipLow: 0.2, ClipHigh: 0.28}
	for i, s := range ids {
		w, old := make([]float32, len(s)), make([]float32, len(s))
		for j := 1; j < len(s); j++ {
			w[j] = float32((i+j)%3-1) * 0.05
			old[j] = lps[i][j] + float32(j%5-2)*0.15
		}
		b.Seqs = append(b.Seqs, engine.Sequence{Tokens: s, Weights: w, OldLogProbs: old})
	}
	return b
}

// TestMatchesCPUEngine compares the clip loss, its gradients, the update
// statistics and the updated model with the CPU engine on the reference
// checkpoint.
func TestMatchesCPUEngine(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	c, err := cpu.Open(engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim})
	require.NoError(t, err)
	x := openTest(t, enginetest.HFDir(), enginetest.TestOptim).(*Policy)
	b := clipBatch(t, c, ref.InputIDs)
	lc, gc, err := c.Gradients(ctx, b)
	require.NoError(t, err)
	lx, gx, err := x.Gradients(ctx, b)
	require.NoError(t, err)
	require.InDelta(t, lc, lx, 1e-5)
	require.Len(t, gx, len(gc))
	for name, want := range gc {
		require.InDeltaSlice(t, toF64(want), toF64(gx[name]), 1e-4, name)
	}
	for step := 0; step < 2; step++ {
		sc, err := c.Update(ctx, b)
		require.NoError(t, err)
		sx, err := x.Update(ctx, b)
		require.NoError(t, err)
		require.InDelta(t, sc.Loss, sx.Loss, 1e-5)
		require.InEpsilon(t, sc.GradNorm, sx.GradNorm, 1e-4)
		require.Equal(t, sc.Tokens, sx.Tokens)
		require.Equal(t, sc.Trained, sx.Trained)
		require.Equal(t, sc.ClipFrac, sx.ClipFrac)
		require.Greater(t, sx.ClipFrac, 0.0, "the batch must exercise clipping")
		require.Equal(t, sc.LR, sx.LR)
	}
	a, err := c.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	bx, err := x.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	for i := range a {
		require.InDeltaSlice(t, toF64(a[i]), toF64(bx[i]), 2e-4, "log-probs after two updates, sequence %d", i)
	}

	// The CPU engine's checkpoint: its optimiser state is not this
	// engine's to resume, but its weights open with WeightsOnly.
	dir := filepath.Join(t.TempDir(), "cpu-ckpt")
	require.NoError(t, c.Save(dir))
	_, err = engine.Open("xla", engine.Options{Dir: dir, Extra: baseExtra})
	require.ErrorContains(t, err, `format "rewind-cpu/1", want "rewind-xla/1"`)
	w, err := engine.Open("xla", engine.Options{Dir: dir, Extra: baseExtra, WeightsOnly: true})
	require.NoError(t, err)
	require.Zero(t, w.(*Policy).Step())
	bw, err := w.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	for i := range a {
		require.InDeltaSlice(t, toF64(a[i]), toF64(bw[i]), 1e-4, "log-probs of the CPU engine's saved weights, sequence %d", i)
	}
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestMicroBatches checks that splitting a batch into micro-batches (a
// tiny token budget) gives the gradients of one pass.
func TestMicroBatches(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	one := openTest(t, enginetest.HFDir(), enginetest.TestOptim).(*Policy)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim,
		Extra: testExtra("token_budget", "16")})
	require.NoError(t, err)
	many := p.(*Policy)
	b := enginetest.MeanNLLBatch(ref.InputIDs)
	require.Len(t, many.microBatches(ref.InputIDs), 2)
	l1, g1, err := one.Gradients(ctx, b)
	require.NoError(t, err)
	l2, g2, err := many.Gradients(ctx, b)
	require.NoError(t, err)
	require.InDelta(t, l1, l2, 1e-5)
	for n, g := range g1 {
		require.InDeltaSlice(t, toF64(g), toF64(g2[n]), 1e-6, n)
	}
}

// TestLoRA: a fresh adapter leaves the model unchanged (B = 0), only the
// factors train, the adapter exports in PEFT's layout, and Save/Open
// restores it.
func TestLoRA(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	base := openTest(t, enginetest.HFDir(), enginetest.TestOptim)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim, Seed: 3,
		Extra: testExtra("lora_rank", "4", "lora_alpha", "8", "lora_targets", "q_proj,v_proj,down_proj")})
	require.NoError(t, err)
	lp0, err := base.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	lp1, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.Equal(t, lp0, lp1, "B = 0: the adapter starts as the identity")

	lora := p.(*Policy)
	_, grads, err := lora.Gradients(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
	require.NoError(t, err)
	cfg := lora.Config()
	require.Len(t, grads, 2*3*cfg.Layers)
	name := "base_model.model.model.layers.0.self_attn.q_proj.lora_"
	require.Len(t, grads[name+"A.weight"], 4*cfg.Hidden)
	require.Equal(t, 0.0, l2(grads[name+"A.weight"]), "dL/dA = 0 while B = 0")
	require.Greater(t, l2(grads[name+"B.weight"]), 0.0)

	for i := 0; i < 3; i++ {
		_, err = p.Update(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
		require.NoError(t, err)
	}
	lp2, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.NotEqual(t, lp1, lp2)
	require.Greater(t, mean(lp2), mean(lp1), "training on the batch raises its log-likelihood")

	dir := filepath.Join(t.TempDir(), "adapter")
	require.NoError(t, lora.ExportAdapter(dir))
	ts, _, err := model.ReadSafetensors(filepath.Join(dir, AdapterWeightsFile))
	require.NoError(t, err)
	require.Len(t, ts, 2*3*cfg.Layers)
	require.Equal(t, []int{4, cfg.Intermediate}, ts["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"].Shape)
	var pc map[string]any
	b, err := os.ReadFile(filepath.Join(dir, AdapterConfigFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &pc))
	require.Equal(t, "LORA", pc["peft_type"])
	require.Equal(t, 4.0, pc["r"])
	require.Equal(t, 8.0, pc["lora_alpha"])
	require.Equal(t, []any{"q_proj", "v_proj", "down_proj"}, pc["target_modules"])

	ck := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, p.Save(ck))
	q := openTest(t, ck, engine.Optim{})
	lp3, err := q.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.Equal(t, lp2, lp3)
	sa, err := p.Update(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
	require.NoError(t, err)
	sb, err := q.Update(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
	require.NoError(t, err)
	require.Equal(t, sa, sb)
}

func l2(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func mean(lps [][]float32) float64 {
	var s float64
	n := 0
	for _, lp := range lps {
		for _, v := range lp[1:] {
			s += float64(v)
			n++
		}
	}
	return s / float64(n)
}

// TestBFloat16 runs the reference in bfloat16 compute with float32 master
// weights: log-probs close to float32 (bfloat16 has 8 bits of mantissa).
func TestBFloat16(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim,
		Extra: testExtra("compute_dtype", "bfloat16")})
	require.NoError(t, err)
	lps, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.InDelta(t, ref.Loss, -mean(lps), 0.05)
	st, err := p.Update(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
	require.NoError(t, err)
	require.InDelta(t, ref.Loss, st.Loss, 0.05)
	require.Greater(t, st.GradNorm, 0.0)
}

// TestOptions checks the errors for bad settings, and that the PJRT path
// is validated before anything is loaded (so nothing is ever searched for
// or downloaded).
func TestOptions(t *testing.T) {
	so := filepath.Join(t.TempDir(), "plugin.so")
	require.NoError(t, os.WriteFile(so, []byte("not a library"), 0o644))
	for _, tc := range []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{"missing plugin", map[string]string{"backend": BackendPJRT}, "jax_plugins/xla_cuda13/xla_cuda_plugin.so"},
		{"relative plugin", map[string]string{"backend": BackendPJRT, "pjrt_plugin": "cuda"}, "not an absolute path"},
		{"absent plugin", map[string]string{"backend": BackendPJRT, "pjrt_plugin": "/nonexistent/xla_cuda_plugin.so"}, "LD_LIBRARY_PATH"},
		{"not a library", map[string]string{"backend": BackendPJRT, "pjrt_plugin": filepath.Dir(so)}, "not a shared library"},
		{"plugin with go backend", map[string]string{"backend": BackendGo, "pjrt_plugin": so}, "set backend to \"pjrt\""},
		{"unknown backend", map[string]string{"backend": "tpu"}, "want \"go\""},
		{"unknown key", map[string]string{"backend": BackendGo, "batch": "4"}, "unknown extra setting \"batch\""},
		{"bad dtype", map[string]string{"compute_dtype": "fp8"}, "compute_dtype"},
		{"lora alpha without rank", map[string]string{"lora_alpha": "4"}, "lora_rank is not"},
		{"bad lora target", map[string]string{"lora_rank": "2", "lora_targets": "qkv"}, "lora target \"qkv\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Extra: tc.extra})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// A plugin alone implies backend pjrt: the path is loaded (and this
	// one is not a library).
	for _, extra := range []map[string]string{{"backend": BackendPJRT, "pjrt_plugin": so}, {"pjrt_plugin": so}} {
		_, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Extra: extra})
		require.Error(t, err)
		if HasPJRT {
			require.True(t, strings.Contains(err.Error(), "load PJRT plugin"), err.Error())
		} else {
			require.ErrorIs(t, err, ErrNoPJRT)
		}
	}
}

// TestCompileStats checks that graphs are compiled once per bucket and
// reused: a second call with other lengths in the same bucket compiles
// nothing new.
func TestCompileStats(t *testing.T) {
	ctx := context.Background()
	p := openTest(t, enginetest.HFDir(), enginetest.TestOptim).(*Policy)
	_, err := p.LogProbs(ctx, [][]int{{1, 2, 3}, {4, 5}})
	require.NoError(t, err)
	n := len(p.Compiles())
	require.Positive(t, n)
	_, err = p.LogProbs(ctx, [][]int{{1, 2, 3, 4, 5, 6, 7}, {8}})
	require.NoError(t, err)
	require.Len(t, p.Compiles(), n, "same bucket: no new compile")
	for _, c := range p.Compiles() {
		require.Positive(t, c.Duration)
	}
}
