package xla

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
)

// TestContinuousBatching generates requests of very different lengths
// through four slots: every result equals the request generated alone
// (slot refills change nothing a request sees), and refilling freed slots
// takes fewer decoding steps than waves of four that wait for their
// longest member.
func TestContinuousBatching(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Extra: testExtra("max_batch", "4")})
	require.NoError(t, err)
	x := p.(*Policy)
	lengths := []int{24, 2, 3, 1, 20, 4, 2, 18, 5, 1, 3, 22}
	samplings := []engine.Sampling{{Temperature: 0}, {Temperature: 1}, {Temperature: 0.8, TopK: 5}, {Temperature: 1.2, TopP: 0.9}}
	var reqs []engine.GenRequest
	for i, n := range lengths {
		s := samplings[i%len(samplings)]
		s.MaxNewTokens = n
		prompt := ref.InputIDs[i%len(ref.InputIDs)][:2+i%5]
		reqs = append(reqs, engine.GenRequest{Prompt: prompt, Sampling: s, Seed: uint64(100 + i)})
	}
	got, err := x.Generate(ctx, reqs)
	require.NoError(t, err)
	steps := x.decodeSteps.Load()
	waveSteps := 0
	for w := 0; w < len(lengths); w += 4 {
		waveSteps += max(lengths[w], lengths[w+1], lengths[w+2], lengths[w+3]) - 1
	}
	require.Less(t, steps, int64(waveSteps), "refills should beat waves of 4 (%d steps)", waveSteps)
	for i, r := range reqs {
		require.Len(t, got[i].Tokens, lengths[i], "request %d", i)
		alone, err := x.Generate(ctx, []engine.GenRequest{r})
		require.NoError(t, err)
		require.Equal(t, alone[0].Tokens, got[i].Tokens, "request %d", i)
		require.InDeltaSlice(t, toF64(alone[0].LogProbs), toF64(got[i].LogProbs), 1e-5, "request %d", i)
	}
	t.Logf("%d decoding steps with refills, %d in waves of 4", steps, waveSteps)
}

// TestForwardWeightsCache checks that bfloat16 sampling and log-probs from
// the cached bfloat16 weights are bit for bit those of the graph casting
// the float32 masters itself, before and after an Update (which must
// refresh the cache), with and without LoRA.
func TestForwardWeightsCache(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	for _, extra := range [][]string{{"compute_dtype", "bfloat16"}, {"compute_dtype", "bfloat16", "lora_rank", "2"}} {
		var pols [2]*Policy
		for i := range pols {
			p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim, Extra: testExtra(extra...)})
			require.NoError(t, err)
			pols[i] = p.(*Policy)
		}
		pols[1].noFwdCache = true
		reqs := []engine.GenRequest{
			{Prompt: ref.InputIDs[0][:4], Seed: 1, Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 8}},
			{Prompt: ref.InputIDs[1][:3], Seed: 2, Sampling: engine.Sampling{Temperature: 0.7, TopK: 4, MaxNewTokens: 6}},
		}
		for round := 0; round < 2; round++ {
			var lps [2][][]float32
			var gens [2][]engine.GenResult
			for i, p := range pols {
				var err error
				lps[i], err = p.LogProbs(ctx, ref.InputIDs)
				require.NoError(t, err)
				gens[i], err = p.Generate(ctx, reqs)
				require.NoError(t, err)
			}
			require.Equal(t, lps[1], lps[0], "%v round %d: log-probs", extra, round)
			require.Equal(t, gens[1], gens[0], "%v round %d: generations", extra, round)
			require.NotNil(t, pols[0].fwd)
			for _, p := range pols {
				_, err := p.Update(ctx, enginetest.MeanNLLBatch(ref.InputIDs))
				require.NoError(t, err)
			}
			require.Nil(t, pols[0].fwd, "Update drops the stale copy")
		}
	}
}
