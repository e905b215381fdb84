package xla

import (
	"testing"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
	"github.com/stretchr/testify/require"
)

// goExtra runs the graphs on GoMLX's pure-Go backend, ops in sequence.
var goExtra = map[string]string{"backend": BackendGo}

func openGo(t testing.TB, dir string, opt engine.Optim) engine.Policy {
	t.Helper()
	p, err := engine.Open("xla", engine.Options{Dir: dir, Optim: opt, Extra: goExtra})
	require.NoError(t, err)
	return p
}

// TestConformance runs the shared engine suite (transformers reference
// logits, every gradient, greedy output; sampling, stops, prefixes,
// log-probs, Save/Open) on the pure-Go backend.
func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t testing.TB, opts engine.Options) engine.Policy {
		opts.Extra = goExtra
		p, err := engine.Open("xla", opts)
		require.NoError(t, err)
		return p
	})
}
