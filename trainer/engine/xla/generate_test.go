package xla

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
)

// TestContinuousBatching generates requests of very different lengths
// through four slots: every result equals the request generated alone
// (slot refills change nothing a request sees), and refilling freed slots
// takes fewer decoding steps than waves of four that wait for their
// longest member. With a 3-position ring the KV cache is flushed many
// times mid-generation; the tokens are the same as with the default ring.
func TestContinuousBatching(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	lengths := []int{24, 2, 3, 1, 20, 4, 2, 18, 5, 1, 3, 22}
	samplings := []engine.Sampling{{Temperature: 0}, {Temperature: 1}, {Temperature: 0.8, TopK: 5}, {Temperature: 1.2, TopP: 0.9}}
	var reqs []engine.GenRequest
	for i, n := range lengths {
		s := samplings[i%len(samplings)]
		s.MaxNewTokens = n
		prompt := ref.InputIDs[i%len(ref.InputIDs)][:2+i%5]
		reqs = append(reqs, engine.GenRequest{Prompt: prompt, Sampling: s, Seed: uint64(100 + i)})
	}
	waveSteps := 0
	for w := 0; w < len(lengths); w += 4 {
		waveSteps += max(lengths[w], lengths[w+1], lengths[w+2], lengths[w+3]) - 1
	}
	var byRing [][]engine.GenResult
	for _, ring := range []string{"32", "3"} {
		p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Extra: testExtra("max_batch", "4", "decode_ring", ring)})
		require.NoError(t, err)
		x := p.(*Policy)
		got, err := x.Generate(ctx, reqs)
		require.NoError(t, err)
		steps, flushes := x.decodeSteps.Load(), x.flushes.Load()
		require.Less(t, steps, int64(waveSteps), "refills should beat waves of 4 (%d steps)", waveSteps)
		if ring == "3" {
			require.GreaterOrEqual(t, flushes, steps/3-1, "a 3-position ring flushes every 3 steps")
		}
		for i, r := range reqs {
			require.Len(t, got[i].Tokens, lengths[i], "ring %s, request %d", ring, i)
			alone, err := x.Generate(ctx, []engine.GenRequest{r})
			require.NoError(t, err)
			require.Equal(t, alone[0].Tokens, got[i].Tokens, "ring %s, request %d", ring, i)
			require.InDeltaSlice(t, toF64(alone[0].LogProbs), toF64(got[i].LogProbs), 1e-5, "ring %s, request %d", ring, i)
		}
		t.Logf("ring %s: %d decoding steps and %d flushes with refills, %d steps in waves of 4", ring, steps, flushes, waveSteps)
		byRing = append(byRing, got)
	}
	for i := range reqs {
		require.Equal(t, byRing[0][i].Tokens, byRing[1][i].Tokens, "request %d: ring 32 vs 3", i)
		require.InDeltaSlice(t, toF64(byRing[0][i].LogProbs), toF64(byRing[1][i].LogProbs), 1e-5, "request %d", i)
	}
}

// TestMaxBatchNotPowerOfTwo: with max_batch 3 the cache has 4 slots
// (a power of two) but never more than 3 requests decode together.
func TestMaxBatchNotPowerOfTwo(t *testing.T) {
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Extra: testExtra("max_batch", "3")})
	require.NoError(t, err)
	x := p.(*Policy)
	var reqs []engine.GenRequest
	for i := range 7 {
		reqs = append(reqs, engine.GenRequest{Prompt: ref.InputIDs[0][:2+i%3], Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 2 + 5*(i%3)}})
	}
	got, err := x.Generate(ctx, reqs)
	require.NoError(t, err)
	require.EqualValues(t, 3, x.peakRows.Load())
	for i, r := range reqs {
		alone, err := x.Generate(ctx, []engine.GenRequest{r})
		require.NoError(t, err)
		require.Equal(t, alone[0].Tokens, got[i].Tokens, "request %d", i)
	}
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

// TestNoBufferLeak runs rounds of Update, Generate (with refills and ring
// flushes) and LogProbs, and checks that the only graph outputs still
// alive are the policy's own state (weights, AdamW moments, the bf16
// forward copy), and that the Go heap (device memory, on this backend)
// stays flat.
func TestNoBufferLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("many engine calls")
	}
	live := &sync.Map{}
	liveOutputs.Store(live)
	t.Cleanup(func() { liveOutputs.Store(nil) })
	ctx := context.Background()
	ref, _ := enginetest.LoadReference(t)
	p, err := engine.Open("xla", engine.Options{Dir: enginetest.HFDir(), Optim: enginetest.TestOptim,
		Extra: testExtra("compute_dtype", "bfloat16", "max_batch", "2", "decode_ring", "3")})
	require.NoError(t, err)
	x := p.(*Policy)
	var reqs []engine.GenRequest
	for i := range 5 {
		reqs = append(reqs, engine.GenRequest{Prompt: ref.InputIDs[0][:3], Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: 3 + 3*i}})
	}
	b := enginetest.MeanNLLBatch(ref.InputIDs)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var sizes []uint64
	for round := range 3 {
		for range 3 {
			_, err := p.Update(ctx, b)
			require.NoError(t, err)
			_, err = p.Generate(ctx, reqs)
			require.NoError(t, err)
			_, err = p.LogProbs(ctx, ref.InputIDs)
			require.NoError(t, err)
		}
		sizes = append(sizes, heap())
		own := map[*tensors.Tensor]bool{}
		for _, ts := range [][]*tensors.Tensor{x.base, x.lora, x.m, x.v, x.fwd} {
			for _, t := range ts {
				own[t] = true
			}
		}
		live.Range(func(k, v any) bool {
			require.True(t, own[k.(*tensors.Tensor)], "round %d: an output of graph %v was never freed", round, v)
			return true
		})
	}
	require.Less(t, sizes[2], sizes[1]+128<<10, "heap grew by more than 128 KiB in a round of calls")
}
