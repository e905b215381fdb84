package cpu

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFiniteDifferences compares the analytic gradient with central
// differences of the loss along random directions, one direction per
// parameter tensor (so every kind of parameter is checked on its own) and
// one over all parameters, for both loss kinds, on models with and without
// tied embeddings and biases.
func TestFiniteDifferences(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*model.Config)
		loss engine.LossKind
	}{
		{"qwen2-pg", nil, engine.LossPG},
		{"qwen2-clip", nil, engine.LossClip},
		{"llama-tied-pg", func(c *model.Config) {
			c.ModelType, c.QKVBias, c.TiedEmbeddings, c.KVHeads = model.TypeLlama, false, true, 1
		}, engine.LossPG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := nanoPolicy(t, tc.edit, 0.15, 3)
			r := rand.New(rand.NewPCG(9, 9))
			seqs := randSeqs(r, 3, 5, 11, 260)
			b := engine.Batch{Loss: tc.loss, ClipLow: 0.2, ClipHigh: 0.28}
			lps, err := p.LogProbs(ctx, seqs)
			require.NoError(t, err)
			for i, s := range seqs {
				sq := engine.Sequence{Tokens: s, Weights: make([]float32, len(s)), OldLogProbs: make([]float32, len(s))}
				for j := 1; j < len(s); j++ {
					sq.Weights[j] = float32(r.NormFloat64())
					// ratios within (0.9, 1.1): no clipping exactly at a kink
					sq.OldLogProbs[j] = lps[i][j] + float32(0.1*(r.Float64()-0.5))
				}
				b.Seqs = append(b.Seqs, sq)
			}
			var st engine.UpdateStats
			_, err = p.lossAndGrad(ctx, b, &st)
			require.NoError(t, err)
			grad := append([]float32(nil), p.grads...)
			lossAt := func() float64 {
				var s engine.UpdateStats
				l, err := p.lossAndGrad(ctx, b, &s)
				require.NoError(t, err)
				return l
			}
			check := func(name string, lo, hi int) {
				dir := make([]float32, len(p.params))
				var analytic float64
				for i := lo; i < hi; i++ {
					dir[i] = float32(r.NormFloat64())
					analytic += float64(dir[i]) * float64(grad[i])
				}
				const eps = 1e-3
				orig := append([]float32(nil), p.params...)
				for i := lo; i < hi; i++ {
					p.params[i] = orig[i] + eps*dir[i]
				}
				lp := lossAt()
				for i := lo; i < hi; i++ {
					p.params[i] = orig[i] - eps*dir[i]
				}
				lm := lossAt()
				copy(p.params, orig)
				numeric := (lp - lm) / (2 * eps)
				assert.InDelta(t, analytic, numeric, 1e-2*math.Abs(analytic)+2e-3, "%s: analytic %.6g numeric %.6g", name, analytic, numeric)
			}
			for _, s := range p.net.lay.segs {
				check(s.spec.Name, s.off, s.off+numel(s.spec.Shape))
			}
			check("all", 0, len(p.params))
		})
	}
}

// TestLearnsSequenceTask trains the nano model on "count up from a random
// start" sequences; the mean next-token loss must fall from log(vocab) ~
// 5.6 to below 0.5 nats within 150 steps.
func TestLearnsSequenceTask(t *testing.T) {
	ctx := context.Background()
	p := nanoPolicy(t, nil, 0.02, 1)
	p.opt = engine.Optim{LR: 3e-3, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, GradClip: 1, Schedule: "constant"}
	r := rand.New(rand.NewPCG(4, 4))
	batch := func() engine.Batch {
		var seqs [][]int
		for i := 0; i < 16; i++ {
			start := 'a' + r.IntN(10)
			s := make([]int, 16)
			for j := range s {
				s[j] = start + j
			}
			seqs = append(seqs, s)
		}
		// predicting the first token from nothing is impossible: train on
		// positions 2.. (the start letter is random).
		b := engine.Batch{Loss: engine.LossPG}
		n := 0
		for _, s := range seqs {
			n += len(s) - 2
		}
		for _, s := range seqs {
			w := make([]float32, len(s))
			for j := 2; j < len(s); j++ {
				w[j] = 1 / float32(n)
			}
			b.Seqs = append(b.Seqs, engine.Sequence{Tokens: s, Weights: w})
		}
		return b
	}
	var first, last float64
	for step := 0; step < 150; step++ {
		st, err := p.Update(ctx, batch())
		require.NoError(t, err)
		if step == 0 {
			first = st.Loss
		}
		last = st.Loss
		if last < 0.5 {
			break
		}
	}
	t.Logf("loss %.3f -> %.3f after %d steps", first, last, p.Step())
	require.Greater(t, first, 4.0)
	require.Less(t, last, 0.5)
}

// TestReproducibleAcrossGOMAXPROCS runs the same sampling and updates with
// GOMAXPROCS 1 and 2 and compares every bit, with micro-batching on.
func TestReproducibleAcrossGOMAXPROCS(t *testing.T) {
	ctx := context.Background()
	run := func(procs int) ([]engine.GenResult, []float32, []engine.UpdateStats) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p := nanoPolicy(t, nil, 0.1, 5)
		p.tokenBudget = 40
		r := rand.New(rand.NewPCG(2, 2))
		var reqs []engine.GenRequest
		for i, s := range randSeqs(r, 6, 1, 8, 256) {
			reqs = append(reqs, engine.GenRequest{Prompt: s, Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1, TopP: 0.9, MaxNewTokens: 10 + i}})
		}
		gen, err := p.Generate(ctx, reqs)
		require.NoError(t, err)
		var stats []engine.UpdateStats
		for k := 0; k < 3; k++ {
			b := engine.Batch{Loss: engine.LossClip, ClipLow: 0.2, ClipHigh: 0.2}
			for _, s := range randSeqs(r, 5, 4, 30, 256) {
				sq := engine.Sequence{Tokens: s, Weights: make([]float32, len(s)), OldLogProbs: make([]float32, len(s))}
				for j := 1; j < len(s); j++ {
					sq.Weights[j] = float32(r.NormFloat64()) / 50
					sq.OldLogProbs[j] = -5.5 + float32(r.NormFloat64())*0.3
				}
				b.Seqs = append(b.Seqs, sq)
			}
			st, err := p.Update(ctx, b)
			require.NoError(t, err)
			stats = append(stats, st)
		}
		return gen, append([]float32(nil), p.params...), stats
	}
	g1, w1, s1 := run(1)
	g2, w2, s2 := run(2)
	require.Equal(t, g1, g2)
	require.Equal(t, s1, s2)
	for i := range w1 {
		if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) {
			t.Fatalf("weights differ at %d: %v vs %v", i, w1[i], w2[i])
		}
	}
	require.Greater(t, s1[0].ClipFrac, 0.0)
}

// TestGoldenGreedy decodes the reference prompt greedily.
func TestGoldenGreedy(t *testing.T) {
	m, gd, _ := loadGolden(t)
	ws := m.lay.toTensors(m.w.flat, "")
	p, err := New(m.cfg, byteTok{m.cfg.VocabSize}, ws, engine.Optim{})
	require.NoError(t, err)
	res, err := p.Generate(context.Background(), []engine.GenRequest{{Prompt: gd.GreedyPrompt, Sampling: engine.Sampling{MaxNewTokens: 16}}})
	require.NoError(t, err)
	require.Equal(t, gd.GreedyOutput[len(gd.GreedyPrompt):], res[0].Tokens)
}

// TestAdamWStep checks one AdamW step against the closed form: after the
// first step, m^ = g and v^ = g^2, so p -= lr*(sign(g)*|g|/(|g|+eps) + wd*p).
func TestAdamWStep(t *testing.T) {
	o := engine.Optim{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.5}
	params := []float32{1, 1, 1, 1}
	grads := []float32{2, -3, 0.5, 4}
	m, v := make([]float32, 4), make([]float32, 4)
	adamW(o, 1, o.LR, 0.5, params, grads, m, v, [][2]int{{2, 4}})
	for i, want := range []float64{1 - 0.1, 1 + 0.1, 1 - 0.1 - 0.05, 1 - 0.1 - 0.05} {
		require.InDelta(t, want, params[i], 1e-6, "param %d", i)
	}
}

// TestBatchComposition: a request's tokens are the same alone and inside
// batches of other sizes (prefills and decodes of other requests share its
// GEMMs). With gonum every row of a product is reduced in one fixed order,
// so the log-probs are bit-identical too; OpenBLAS computes a row with
// different kernels depending on its position in the product, so there the
// log-probs agree to rounding (and a token could differ only if a uniform
// draw fell within rounding of a CDF boundary).
func TestBatchComposition(t *testing.T) {
	ctx := context.Background()
	p := nanoPolicy(t, nil, 0.1, 8)
	r := rand.New(rand.NewPCG(3, 3))
	target := engine.GenRequest{Prompt: []int{1, 2, 3, 4, 5}, Seed: 42, Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 30}}
	alone, err := p.Generate(ctx, []engine.GenRequest{target})
	require.NoError(t, err)
	for _, n := range []int{3, 17, 70} {
		var reqs []engine.GenRequest
		for i, s := range randSeqs(r, n, 1, 40, 256) {
			reqs = append(reqs, engine.GenRequest{Prompt: s, Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 1 + r.IntN(40)}})
		}
		reqs[n/2] = target
		res, err := p.Generate(ctx, reqs)
		require.NoError(t, err)
		got := res[n/2]
		require.Equal(t, alone[0].Tokens, got.Tokens, "batch of %d", n)
		require.Equal(t, alone[0].Reason, got.Reason)
		if p.BLAS() == "gonum" {
			require.Equal(t, alone[0].LogProbs, got.LogProbs, "batch of %d", n)
			continue
		}
		require.InDeltaSlice(t, alone[0].LogProbs, got.LogProbs, 1e-5, "batch of %d", n)
	}
}
