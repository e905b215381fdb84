package run

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// TestOpenPolicyWarmStart: a policy saved with its optimiser state (as
// rewind sft saves it) and named by model.path starts the run with a fresh
// optimiser at step 1 of the run's schedule; the same folder opened as the
// run's own checkpoint (resume) continues its step count.
func TestOpenPolicyWarmStart(t *testing.T) {
	ctx := context.Background()
	c, err := Preset("grpo")
	require.NoError(t, err)
	c.Model = ModelConfig{Engine: "cpu", Preset: "tiny", Tokenizer: "char:" + e2eAlphabet}
	c.Run.Seed = 3
	c.Optim.WarmupSteps = 10 // LR = step/10 * lr: the step counter shows in UpdateStats.LR
	runDir := t.TempDir()
	p, err := openPolicy(c, runDir, "")
	require.NoError(t, err)
	tok := p.Tokenizer()
	seq := engine.Sequence{Tokens: tok.Encode("1+2=3")}
	seq.Weights = make([]float32, len(seq.Tokens))
	for i := 1; i < len(seq.Weights); i++ {
		seq.Weights[i] = 0.25
	}
	batch := engine.Batch{Loss: engine.LossPG, Seqs: []engine.Sequence{seq}}
	for range 3 {
		_, err := p.Update(ctx, batch)
		require.NoError(t, err)
	}
	sft := filepath.Join(t.TempDir(), "sft")
	require.NoError(t, p.Save(sft))

	type stepper interface{ Step() int }
	for _, tc := range []struct {
		name      string
		path      string // model.path
		policyDir string // a checkpoint's policy, when resuming
		step      int    // steps already taken after opening
	}{
		{"model.path is a warm start", sft, "", 0},
		{"resume continues", "", sft, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := c
			rc.Model.Path = tc.path
			q, err := openPolicy(rc, runDir, tc.policyDir)
			require.NoError(t, err)
			require.Equal(t, tc.step, q.(stepper).Step())
			st, err := q.Update(ctx, batch)
			require.NoError(t, err)
			require.InDelta(t, c.Optim.LRAt(tc.step+1), st.LR, 1e-15)
		})
	}
}
