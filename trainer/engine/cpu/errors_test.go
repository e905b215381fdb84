package cpu

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
	"github.com/stretchr/testify/require"
)

func TestUpdateRejectsBadBatches(t *testing.T) {
	p := nanoPolicy(t, nil, 0.02, 1)
	ok := engine.Sequence{Tokens: []int{1, 2, 3}, Weights: []float32{0, 1, 1}, OldLogProbs: []float32{0, -1, -1}}
	for _, tc := range []struct {
		name string
		b    engine.Batch
		want string
	}{
		{"loss kind", engine.Batch{Loss: "ppo", Seqs: []engine.Sequence{ok}}, `loss "ppo"`},
		{"weights length", engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{{Tokens: []int{1, 2}, Weights: []float32{0}}}}, "1 weights for 2 tokens"},
		{"first weight", engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{{Tokens: []int{1, 2}, Weights: []float32{1, 1}}}}, "weights[0] = 1"},
		{"old logprobs", engine.Batch{Loss: engine.LossClip, ClipLow: 0.2, ClipHigh: 0.2, Seqs: []engine.Sequence{{Tokens: []int{1, 2}, Weights: []float32{0, 1}}}}, "old_logprobs"},
		{"clip range", engine.Batch{Loss: engine.LossClip, ClipLow: 1.5, Seqs: []engine.Sequence{ok}}, "clip_low"},
		{"token id", engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{{Tokens: []int{1, 999}, Weights: []float32{0, 1}}}}, "token id 999"},
		{"too long", engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{{Tokens: make([]int, 65), Weights: make([]float32, 65)}}}, "longer than the context of 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]float32(nil), p.params...)
			_, err := p.Update(context.Background(), tc.b)
			require.ErrorContains(t, err, tc.want)
			require.Equal(t, before, p.params, "a rejected batch must not change the model")
			require.Zero(t, p.Step())
		})
	}
	p.opt = engine.Optim{LR: 1}
	_, err := p.Update(context.Background(), engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{ok}})
	require.ErrorContains(t, err, "optim.eps")
}

func TestGenerateContextWindowAndCancel(t *testing.T) {
	p := nanoPolicy(t, nil, 0.1, 2)
	ctx := context.Background()
	res, err := p.Generate(ctx, []engine.GenRequest{
		{Prompt: make([]int, 60), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 10}},
		{Prompt: make([]int, 64), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 10}},
	})
	require.NoError(t, err)
	require.Len(t, res[0].Tokens, 4, "context 64: 60 + 4")
	require.Equal(t, engine.StopWindow, res[0].Reason)
	require.Empty(t, res[1].Tokens)
	require.Equal(t, engine.StopWindow, res[1].Reason)
	_, err = p.Generate(ctx, []engine.GenRequest{{Prompt: make([]int, 65), Sampling: engine.Sampling{MaxNewTokens: 1}}})
	require.ErrorContains(t, err, "longer than the context")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = p.Generate(cctx, []engine.GenRequest{{Prompt: []int{1}, Sampling: engine.Sampling{MaxNewTokens: 5}}})
	require.ErrorIs(t, err, context.Canceled)
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(engine.Options{})
	require.ErrorContains(t, err, "Options.Dir is empty")
	_, err = Open(engine.Options{Dir: t.TempDir()})
	require.ErrorContains(t, err, "config.json")

	// A saved checkpoint whose optimiser file is missing is an error, not a
	// silent fresh optimiser.
	tok, err := tokenizer.NewChar("abcdefghij", []string{"<|endoftext|>"})
	require.NoError(t, err)
	p := nanoPolicy(t, nil, 0.02, 1)
	p.tok = tok
	dir := filepath.Join(t.TempDir(), "ck")
	require.NoError(t, p.Save(dir))
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", OptimizerFile, StateFile} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, OptimizerFile)))
	_, err = Open(engine.Options{Dir: dir})
	require.ErrorContains(t, err, OptimizerFile)

	_, err = newPolicy(p.cfg, tok, p.net.lay.toTensors(p.params, ""), engine.Options{Extra: map[string]string{"max_batch": "0"}})
	require.ErrorContains(t, err, "max_batch")
	_, err = newPolicy(p.cfg, tok, p.net.lay.toTensors(p.params, ""), engine.Options{Extra: map[string]string{"nope": "1"}})
	require.ErrorContains(t, err, `unknown extra setting "nope"`)
}
