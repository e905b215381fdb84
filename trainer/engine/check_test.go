package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLimitsCheckRequests(t *testing.T) {
	l := Limits{VocabSize: 10, MaxPositions: 8}
	ok := GenRequest{Prompt: []int{1, 2}, Sampling: Sampling{MaxNewTokens: 4}}
	require.NoError(t, l.CheckRequests([]GenRequest{ok}))
	full := GenRequest{Prompt: make([]int, 8), Sampling: Sampling{MaxNewTokens: 1}}
	require.NoError(t, l.CheckRequests([]GenRequest{full}), "a prompt that fills the context is answered with StopWindow, not refused")
	for _, tc := range []struct {
		name string
		edit func(*GenRequest)
		want string
	}{
		{"empty prompt", func(r *GenRequest) { r.Prompt = nil }, "prompt is empty"},
		{"id in prompt", func(r *GenRequest) { r.Prompt = []int{1, 10} }, "token id 10 outside the vocabulary [0, 10)"},
		{"id in prefix", func(r *GenRequest) { r.Prefix = []int{-1} }, "token id -1"},
		{"too long", func(r *GenRequest) { r.Prefix = make([]int, 7) }, "prompt+prefix is 9 tokens, longer than the context of 8"},
		{"no new tokens", func(r *GenRequest) { r.Sampling.MaxNewTokens = 0 }, "max_new_tokens = 0"},
		{"temperature", func(r *GenRequest) { r.Sampling.Temperature = float32(math.NaN()) }, "temperature"},
		{"top_p", func(r *GenRequest) { r.Sampling.TopP = 1.5 }, "top_p = 1.5"},
		{"top_k", func(r *GenRequest) { r.Sampling.TopK = -1 }, "top_k = -1"},
		{"stop string", func(r *GenRequest) { r.Sampling.StopStrings = []string{"x", ""} }, "empty stop string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := ok
			tc.edit(&bad)
			err := l.CheckRequests([]GenRequest{ok, bad})
			require.ErrorContains(t, err, "generate: request 1: ")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLimitsCheckBatch(t *testing.T) {
	l := Limits{VocabSize: 10, MaxPositions: 4}
	ok := Sequence{Tokens: []int{1, 2, 3}, Weights: []float32{0, 1, 1}, OldLogProbs: []float32{0, -1, -1}}
	require.NoError(t, l.CheckBatch(Batch{Loss: LossClip, ClipLow: 0.2, ClipHigh: 0.28, Seqs: []Sequence{ok}}))
	require.NoError(t, l.CheckBatch(Batch{Loss: LossPG}), "an empty batch is the engine's to refuse")
	for _, tc := range []struct {
		name string
		b    Batch
		want string
	}{
		{"loss kind", Batch{Loss: "ppo", Seqs: []Sequence{ok}}, `loss "ppo"`},
		{"clip range", Batch{Loss: LossClip, ClipLow: 1, Seqs: []Sequence{ok}}, "clip_low = 1"},
		{"weights length", Batch{Loss: LossPG, Seqs: []Sequence{{Tokens: []int{1, 2}, Weights: []float32{0}}}}, "1 weights for 2 tokens"},
		{"first weight", Batch{Loss: LossPG, Seqs: []Sequence{{Tokens: []int{1, 2}, Weights: []float32{1, 1}}}}, "weights[0] = 1"},
		{"old logprobs", Batch{Loss: LossClip, Seqs: []Sequence{{Tokens: []int{1, 2}, Weights: []float32{0, 1}}}}, "old_logprobs"},
		{"infinite weight", Batch{Loss: LossPG, Seqs: []Sequence{{Tokens: []int{1, 2}, Weights: []float32{0, float32(math.Inf(1))}}}}, "weights[1] = +Inf"},
		{"empty sequence", Batch{Loss: LossPG, Seqs: []Sequence{ok, {}}}, "update: sequence 1 is empty"},
		{"token id", Batch{Loss: LossPG, Seqs: []Sequence{{Tokens: []int{1, 12}, Weights: []float32{0, 1}}}}, "sequence 0 position 1: token id 12"},
		{"too long", Batch{Loss: LossPG, Seqs: []Sequence{{Tokens: make([]int, 5), Weights: make([]float32, 5)}}}, "5 tokens, longer than the context of 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, l.CheckBatch(tc.b), tc.want)
		})
	}
	require.ErrorContains(t, l.CheckSeqs("logprobs", [][]int{{1}, {}}), "logprobs: sequence 1 is empty")
}
