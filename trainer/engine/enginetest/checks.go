package enginetest

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/stretchr/testify/require"
)

// Golden checks the policy against the transformers reference: the mean
// next-token log-prob loss (through LogProbs and through Update's reported
// loss), the global gradient norm reported by Update, greedy decoding, and,
// when the policy has the capabilities, full logits and every gradient.
func Golden(t *testing.T, open Factory) {
	ctx := context.Background()
	ref, logits := LoadReference(t)
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})

	lps, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	var sum float64
	n := 0
	for _, lp := range lps {
		require.Zero(t, lp[0], "entry 0 of LogProbs must be 0")
		for _, v := range lp[1:] {
			sum += float64(v)
			n++
		}
	}
	require.InDelta(t, ref.Loss, -sum/float64(n), LossTol, "mean log-prob loss")

	if lg, ok := p.(Logitser); ok {
		got, err := lg.Logits(ctx, ref.InputIDs)
		require.NoError(t, err)
		var flat []float32
		for _, g := range got {
			flat = append(flat, g...)
		}
		require.Len(t, flat, len(logits))
		for i := range logits {
			require.InDelta(t, logits[i], flat[i], LogitTol, "logit %d", i)
		}
	} else {
		t.Log("policy has no Logits method: full logits not checked")
	}

	if gr, ok := p.(Gradienter); ok {
		loss, grads, err := gr.Gradients(ctx, MeanNLLBatch(ref.InputIDs))
		require.NoError(t, err)
		require.InDelta(t, ref.Loss, loss, LossTol)
		require.Len(t, grads, len(ref.Grads))
		for name, want := range ref.Grads {
			g, ok := grads[name]
			require.True(t, ok, "no gradient for %s", name)
			require.InEpsilon(t, want.Norm, norm(g), GradNormTol, "gradient norm of %s", name)
			for i, w := range want.First8 {
				require.InDelta(t, w, g[i], GradValTol, "gradient %s[%d]", name, i)
			}
		}
	} else {
		t.Log("policy has no Gradients method: per-parameter gradients not checked")
	}

	gen, err := p.Generate(ctx, []engine.GenRequest{{Prompt: ref.GreedyPrompt, Sampling: engine.Sampling{MaxNewTokens: len(ref.GreedyOutput) - len(ref.GreedyPrompt)}}})
	require.NoError(t, err)
	require.Equal(t, ref.GreedyOutput[len(ref.GreedyPrompt):], gen[0].Tokens, "greedy continuation")
	require.Equal(t, engine.StopLength, gen[0].Reason)

	// Update reports the loss and the global gradient norm before clipping.
	var ss float64
	for _, g := range ref.Grads {
		ss += g.Norm * g.Norm
	}
	st, err := p.Update(ctx, MeanNLLBatch(ref.InputIDs))
	require.NoError(t, err)
	require.InDelta(t, ref.Loss, st.Loss, LossTol, "update loss")
	require.InEpsilon(t, math.Sqrt(ss), st.GradNorm, GradNormTol, "update grad norm")
	require.Equal(t, 48, st.Tokens)
	require.Equal(t, 46, st.Trained)
	require.Greater(t, st.LR, 0.0)
	after, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.NotEqual(t, lps, after, "an update must change the model")
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// prompts are a few prompts of different lengths in the reference vocabulary.
func prompts(t testing.TB, p engine.Policy) [][]int {
	tok := p.Tokenizer()
	var out [][]int
	for _, s := range []string{"Step 1: compute 12 + 30 =", "The answer is", "x", "Step 2: 7 * 6 = 42, so the total is"} {
		ids := tok.Encode(s)
		require.NotEmpty(t, ids)
		out = append(out, ids)
	}
	return out
}

func sampled(prompt []int, seed uint64, max int) engine.GenRequest {
	return engine.GenRequest{Prompt: prompt, Seed: seed, Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: max}}
}

// Sampling checks that a request's output depends only on the request and
// its seed (not on the batch around it), that seeds matter, that log-probs
// come back for every token, and the top-k / top-p / temperature settings.
func Sampling(t *testing.T, open Factory) {
	ctx := context.Background()
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})
	ps := prompts(t, p)
	alone, err := p.Generate(ctx, []engine.GenRequest{sampled(ps[0], 7, 20)})
	require.NoError(t, err)
	require.Len(t, alone[0].Tokens, 20)
	require.Len(t, alone[0].LogProbs, 20)
	require.Equal(t, p.Tokenizer().Decode(alone[0].Tokens), alone[0].Text)

	var reqs []engine.GenRequest
	for i := 0; i < 9; i++ {
		reqs = append(reqs, sampled(ps[i%len(ps)], uint64(100+i), 5+3*i))
	}
	reqs[4] = sampled(ps[0], 7, 20)
	batch, err := p.Generate(ctx, reqs)
	require.NoError(t, err)
	require.Len(t, batch, len(reqs))
	require.Equal(t, alone[0].Tokens, batch[4].Tokens, "same request and seed inside a batch")
	for i := range alone[0].LogProbs {
		require.InDelta(t, alone[0].LogProbs[i], batch[4].LogProbs[i], LogProbTol)
	}
	for i, r := range batch {
		require.Len(t, r.Tokens, reqs[i].Sampling.MaxNewTokens)
		require.Equal(t, engine.StopLength, r.Reason)
		for _, lp := range r.LogProbs {
			require.True(t, lp <= 0 && !math.IsInf(float64(lp), 0), "log-prob %v", lp)
		}
	}
	again, err := p.Generate(ctx, reqs)
	require.NoError(t, err)
	require.Equal(t, batch, again, "Generate must be deterministic")
	other, err := p.Generate(ctx, []engine.GenRequest{sampled(ps[0], 8, 20)})
	require.NoError(t, err)
	require.NotEqual(t, alone[0].Tokens, other[0].Tokens, "different seeds should give different samples")

	// top-k 1 and top-p tiny are greedy; the greedy log-prob is the max.
	greedy, err := p.Generate(ctx, []engine.GenRequest{{Prompt: ps[1], Sampling: engine.Sampling{MaxNewTokens: 12}}})
	require.NoError(t, err)
	for _, s := range []engine.Sampling{{Temperature: 1, TopK: 1, MaxNewTokens: 12}, {Temperature: 0.7, TopP: 1e-6, MaxNewTokens: 12}} {
		r, err := p.Generate(ctx, []engine.GenRequest{{Prompt: ps[1], Sampling: s, Seed: 3}})
		require.NoError(t, err)
		require.Equal(t, greedy[0].Tokens, r[0].Tokens, "sampling %+v", s)
		require.Equal(t, greedy[0].LogProbs, r[0].LogProbs, "log-probs are at temperature 1 whatever the sampling settings")
	}
	// Invalid requests are errors, not silent defaults.
	for _, bad := range []engine.GenRequest{{Prompt: nil, Sampling: engine.Sampling{MaxNewTokens: 1}}, {Prompt: ps[0]}, {Prompt: []int{-1}, Sampling: engine.Sampling{MaxNewTokens: 1}}} {
		_, err := p.Generate(ctx, []engine.GenRequest{bad})
		require.Error(t, err, "%+v", bad)
	}
}

// Stops checks that a stop string ends generation right after the token
// that completes it, keeping it in the output, and likewise stop tokens.
func Stops(t *testing.T, open Factory) {
	ctx := context.Background()
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})
	tok := p.Tokenizer()
	ps := prompts(t, p)
	base, err := p.Generate(ctx, []engine.GenRequest{sampled(ps[0], 11, 40)})
	require.NoError(t, err)
	toks := base[0].Tokens
	// A stop string that straddles tokens 10 and 11 of the base sample.
	b10, b11 := tok.TokenBytes(toks[10]), tok.TokenBytes(toks[11])
	stop := string(b10[len(b10)-1:]) + string(b11)
	var text []byte
	want := -1
	for i, id := range toks {
		text = append(text, tok.TokenBytes(id)...)
		if bytes.Contains(text, []byte(stop)) {
			want = i + 1
			break
		}
	}
	require.Positive(t, want)
	r := sampled(ps[0], 11, 40)
	r.Sampling.StopStrings = []string{"never-occurs-\x01", stop}
	got, err := p.Generate(ctx, []engine.GenRequest{r})
	require.NoError(t, err)
	require.Equal(t, engine.StopString, got[0].Reason)
	require.Equal(t, toks[:want], got[0].Tokens, "stop %q", stop)
	require.Contains(t, got[0].Text, stop, "the stop string is kept")

	r = sampled(ps[0], 11, 40)
	r.Sampling.StopTokens = []int{toks[15]}
	got, err = p.Generate(ctx, []engine.GenRequest{r})
	require.NoError(t, err)
	first := slices.Index(toks, toks[15])
	require.Equal(t, engine.StopToken, got[0].Reason)
	require.Equal(t, toks[:first+1], got[0].Tokens, "the stop token is kept")
}

// Prefix checks that continuing from Prompt + Prefix equals sampling from
// the concatenation, and that stop strings look at the new text only.
func Prefix(t *testing.T, open Factory) {
	ctx := context.Background()
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})
	ps := prompts(t, p)
	full := append(slices.Clone(ps[0]), ps[1]...)
	a, err := p.Generate(ctx, []engine.GenRequest{{Prompt: ps[0], Prefix: ps[1], Seed: 5, Sampling: engine.Sampling{Temperature: 0.9, TopP: 0.95, MaxNewTokens: 16}}})
	require.NoError(t, err)
	b, err := p.Generate(ctx, []engine.GenRequest{{Prompt: full, Seed: 5, Sampling: engine.Sampling{Temperature: 0.9, TopP: 0.95, MaxNewTokens: 16}}})
	require.NoError(t, err)
	require.Equal(t, b[0].Tokens, a[0].Tokens)
	// A stop string that occurs in the prefix only must not stop at once.
	prefText := p.Tokenizer().Decode(ps[1])
	c, err := p.Generate(ctx, []engine.GenRequest{{Prompt: ps[0], Prefix: ps[1], Seed: 5, Sampling: engine.Sampling{Temperature: 0.9, TopP: 0.95, MaxNewTokens: 16, StopStrings: []string{prefText}}}})
	require.NoError(t, err)
	if !bytes.Contains([]byte(a[0].Text), []byte(prefText)) {
		require.Equal(t, a[0].Tokens, c[0].Tokens)
	}
}

// GenerateLogProbs checks that the log-probs Generate reports equal those
// LogProbs computes for the same sequence, and, when the policy has Logits,
// that each reported entropy is that of the softmax of the logits the
// token was drawn from.
func GenerateLogProbs(t *testing.T, open Factory) {
	ctx := context.Background()
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})
	ps := prompts(t, p)
	var reqs []engine.GenRequest
	for i, pr := range ps {
		reqs = append(reqs, engine.GenRequest{Prompt: pr, Prefix: ps[(i+1)%len(ps)][:1], Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1.3, TopK: 50, MaxNewTokens: 24}})
	}
	res, err := p.Generate(ctx, reqs)
	require.NoError(t, err)
	var seqs [][]int
	for i, r := range res {
		seqs = append(seqs, append(append(slices.Clone(reqs[i].Prompt), reqs[i].Prefix...), r.Tokens...))
	}
	lps, err := p.LogProbs(ctx, seqs)
	require.NoError(t, err)
	for i, r := range res {
		off := len(seqs[i]) - len(r.Tokens)
		for j, lp := range r.LogProbs {
			require.InDelta(t, lps[i][off+j], lp, LogProbTol, "request %d token %d", i, j)
		}
		require.Len(t, r.Entropies, len(r.Tokens), "request %d: one entropy per token", i)
	}
	lg, ok := p.(Logitser)
	if !ok {
		t.Log("policy has no Logits method: entropies not checked against logits")
		return
	}
	logits, err := lg.Logits(ctx, seqs)
	require.NoError(t, err)
	for i, r := range res {
		V := len(logits[i]) / len(seqs[i])
		off := len(seqs[i]) - len(r.Tokens)
		for j, h := range r.Entropies {
			// Row off+j-1 holds the logits that predict token off+j.
			row := logits[i][(off+j-1)*V : (off+j)*V]
			require.InDelta(t, entropy(row), h, LogProbTol, "request %d token %d entropy", i, j)
		}
	}
}

// entropy is the entropy in nats of softmax(row), in float64.
func entropy(row []float32) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, float64(v))
	}
	var z, s float64
	for _, v := range row {
		e := math.Exp(float64(v) - m)
		z += e
		s += e * (float64(v) - m)
	}
	return math.Log(z) - s/z
}

// SaveOpen checks that Save then Open gives the same model and optimiser:
// equal log-probs, and equal results of the next update.
func SaveOpen(t *testing.T, open Factory) {
	ctx := context.Background()
	ref, _ := LoadReference(t)
	p := open(t, engine.Options{Dir: HFDir(), Optim: TestOptim})
	batch := MeanNLLBatch(ref.InputIDs)
	_, err := p.Update(ctx, batch)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "ckpt")
	require.NoError(t, p.Save(dir))
	require.NoError(t, p.Save(dir), "saving over an existing checkpoint")
	q := open(t, engine.Options{Dir: dir, Optim: TestOptim})
	a, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	b, err := q.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.Equal(t, a, b)
	sa, err := p.Update(ctx, batch)
	require.NoError(t, err)
	sb, err := q.Update(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, sa, sb, "the optimiser state must survive Save/Open")
	a, _ = p.LogProbs(ctx, ref.InputIDs)
	b, _ = q.LogProbs(ctx, ref.InputIDs)
	require.Equal(t, a, b)
}

// WeightsOnly checks Options.WeightsOnly on a folder written by Save: the
// policy has the saved weights but a fresh optimiser (the next update is
// step 1 of the schedule, from zero moments, exactly as for the same
// weights in a folder without optimiser state), while a plain Open
// continues the saved step count.
func WeightsOnly(t *testing.T, open Factory) {
	ctx := context.Background()
	ref, _ := LoadReference(t)
	batch := MeanNLLBatch(ref.InputIDs)
	// During warm-up the learning rate is step/WarmupSteps*LR, so
	// UpdateStats.LR shows the step counter.
	warm := TestOptim
	warm.WarmupSteps = 10
	p := open(t, engine.Options{Dir: HFDir(), Optim: warm})
	for range 2 {
		_, err := p.Update(ctx, batch)
		require.NoError(t, err)
	}
	dir := filepath.Join(t.TempDir(), "sft")
	require.NoError(t, p.Save(dir))
	bareDir := filepath.Join(t.TempDir(), "bare") // the same weights, no optimiser state
	require.NoError(t, os.MkdirAll(bareDir, 0o755))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if n := e.Name(); n != "state.json" && n != "optimizer.safetensors" {
			b, err := os.ReadFile(filepath.Join(dir, n))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(bareDir, n), b, 0o644))
		}
	}

	resumed := open(t, engine.Options{Dir: dir, Optim: warm})
	fresh := open(t, engine.Options{Dir: dir, Optim: warm, WeightsOnly: true})
	bare := open(t, engine.Options{Dir: bareDir, Optim: warm})
	want, err := p.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	got, err := fresh.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.Equal(t, want, got, "weights-only keeps the saved weights")

	sr, err := resumed.Update(ctx, batch)
	require.NoError(t, err)
	require.InDelta(t, warm.LRAt(3), sr.LR, 1e-15, "a plain Open continues at step 3")
	sf, err := fresh.Update(ctx, batch)
	require.NoError(t, err)
	require.InDelta(t, warm.LRAt(1), sf.LR, 1e-15, "weights-only restarts the schedule at step 1")
	sb, err := bare.Update(ctx, batch)
	require.NoError(t, err)
	require.Equal(t, sb, sf, "weights-only starts from zero moments")
	got, err = fresh.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	want, err = bare.LogProbs(ctx, ref.InputIDs)
	require.NoError(t, err)
	require.Equal(t, want, got)
}
