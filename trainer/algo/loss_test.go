package algo

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
)

func assembled(t *testing.T, v Variant, cfg Config, p *Prompt) *Prompt {
	t.Helper()
	proc, err := NewProcedure(v)
	require.NoError(t, err)
	require.NoError(t, Assemble(p, proc, cfg))
	return p
}

// weightsOf returns the weight of response position 0 and of the first
// masked position of each sequence, and checks that every weight in the
// mask is that value and every other weight is 0.
func weightsOf(t *testing.T, b engine.Batch, refs []SeqRef, prompts []*Prompt) []float64 {
	t.Helper()
	var ws []float64
	for i, s := range b.Seqs {
		p := prompts[refs[i].Prompt]
		tr := p.Trajs[refs[i].Traj]
		off := len(p.PromptIDs)
		require.Equal(t, append(append([]int{}, p.PromptIDs...), tr.Tokens...), s.Tokens)
		require.Len(t, s.Weights, len(s.Tokens))
		w := s.Weights[off+tr.MaskStart]
		for k := range s.Weights {
			if k >= off+tr.MaskStart && k < off+tr.MaskEnd {
				require.Equal(t, w, s.Weights[k], "seq %d pos %d", i, k)
			} else {
				require.Zero(t, s.Weights[k], "seq %d pos %d", i, k)
			}
		}
		ws = append(ws, float64(w))
	}
	return ws
}

func TestBuildBatch(t *testing.T) {
	// "SFFSFS"+"SSFF": base 1,0,1,0 (A = +-1, 10 tokens each), reset
	// 1,1,0,0 (A = +-1, mask [3,10): 7 tokens). N = 8, 68 trained tokens.
	one := func(cfg Config) []*Prompt {
		return []*Prompt{assembled(t, Variant1x4, cfg, mkPrompt("SFFSFS", "SSFF"))}
	}
	// Adding a GRPO prompt whose 8 trajectories all have A = 0 doubles N
	// (but adds no gradient) unless zero-variance groups are skipped.
	two := func(cfg Config) []*Prompt {
		return append(one(cfg), assembled(t, VariantGRPO, cfg, mkPrompt("SSSSSSSS")))
	}
	b, r := 1.0/80, 1.0/56
	tests := []struct {
		name    string
		cfg     func(Config) Config
		prompts func(Config) []*Prompt
		want    []float64
	}{
		{"seq-mean", nil, one, []float64{b, -b, b, -b, r, r, -r, -r}},
		{"token-mean", func(c Config) Config { c.Norm = NormTokenMean; return c }, one,
			[]float64{1. / 68, -1. / 68, 1. / 68, -1. / 68, 1. / 68, 1. / 68, -1. / 68, -1. / 68}},
		// Dr.GRPO: A = r - mean = +-0.5, divided by MaxLen*N = 20*8.
		{"dr-grpo", func(c Config) Config { c = c.DrGRPO(); c.MaxLen = 20; return c }, one,
			[]float64{.5 / 160, -.5 / 160, .5 / 160, -.5 / 160, .5 / 160, .5 / 160, -.5 / 160, -.5 / 160}},
		{"zero advantages count in N", nil, two,
			[]float64{1. / 160, -1. / 160, 1. / 160, -1. / 160, 1. / 112, 1. / 112, -1. / 112, -1. / 112, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"skipped groups do not count in N", func(c Config) Config { c.SkipZeroVar = true; return c }, two,
			[]float64{b, -b, b, -b, r, r, -r, -r}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			prompts := tc.prompts(cfg)
			batch, refs, err := BuildBatch(prompts, cfg)
			require.NoError(t, err)
			require.Equal(t, engine.LossPG, batch.Loss)
			require.InDeltaSlice(t, tc.want, weightsOf(t, batch, refs, prompts), 1e-7)
			for _, s := range batch.Seqs {
				require.Nil(t, s.OldLogProbs)
			}
		})
	}
}

func TestBuildBatchClip(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Loss, cfg.ClipHigh = engine.LossClip, 0.28
	prompts := []*Prompt{assembled(t, Variant1x4, cfg, mkPrompt("SFFSFS", "SSFF"))}
	batch, refs, err := BuildBatch(prompts, cfg)
	require.NoError(t, err)
	require.Equal(t, engine.LossClip, batch.Loss)
	require.Equal(t, float32(0.2), batch.ClipLow)
	require.Equal(t, float32(0.28), batch.ClipHigh)
	require.Equal(t, []SeqRef{{0, 0}, {0, 2}, {0, 3}, {0, 4}, {0, 6}, {0, 7}, {0, 8}, {0, 9}}, refs)
	for _, s := range batch.Seqs {
		require.Len(t, s.OldLogProbs, 12)
		require.Equal(t, []float32{0, 0}, s.OldLogProbs[:2])
		for k := range 10 {
			require.Equal(t, -float32(k)/10, s.OldLogProbs[2+k])
		}
	}
	// Same weights as the pg loss.
	b, r := 1.0/80, 1.0/56
	require.InDeltaSlice(t, []float64{b, -b, b, -b, r, r, -r, -r}, weightsOf(t, batch, refs, prompts), 1e-7)

	prompts[0].Trajs[0].LogProbs = nil
	_, _, err = BuildBatch(prompts, cfg)
	require.ErrorContains(t, err, "0 log-probs for 10 tokens")
}

func TestBuildBatchEdges(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SkipZeroVar = true
	b, refs, err := BuildBatch([]*Prompt{assembled(t, VariantGRPO, cfg, mkPrompt("SSSSSSSS"))}, cfg)
	require.NoError(t, err)
	require.Empty(t, b.Seqs)
	require.Empty(t, refs)

	p := assembled(t, VariantGRPO, DefaultConfig(), mkPrompt("SFSFSFSF"))
	p.PromptIDs = nil
	_, _, err = BuildBatch([]*Prompt{p}, DefaultConfig())
	require.ErrorContains(t, err, "has no prompt ids")

	_, _, err = BuildBatch(nil, Config{})
	require.ErrorContains(t, err, "loss")
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	require.NoError(t, DefaultConfig().DrGRPO().Validate())
	err := Config{Loss: engine.LossClip, Norm: NormSeqSum}.Validate()
	for _, w := range []string{"clip_low = 0", "clip_high = 0", "max_len = 0", `on_unusable = ""`} {
		require.ErrorContains(t, err, w)
	}
	err = Config{Loss: "ppo", Norm: "mean", OnUnusable: "zero"}.Validate()
	for _, w := range []string{`loss = "ppo"`, `norm = "mean"`, `on_unusable = "zero"`} {
		require.ErrorContains(t, err, w)
	}
}
