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
