package xla

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
)

// PJRTTestEnv, when set to the absolute path of a PJRT plugin, runs the
// numerical tests of this package through XLA on that plugin instead of
// the pure-Go backend: scripts/gpu.sh sets it to check the reference
// logits and gradients on the GPU.
const PJRTTestEnv = "REWIND_TEST_PJRT_PLUGIN"

// testExtra is the backend the tests run on (GoMLX's pure-Go backend, ops
// in sequence, unless $REWIND_TEST_PJRT_PLUGIN names a plugin) plus the
// given key, value pairs.
func testExtra(kv ...string) map[string]string {
	m := map[string]string{"backend": BackendGo}
	if so := os.Getenv(PJRTTestEnv); so != "" {
		m = map[string]string{"backend": BackendPJRT, "pjrt_plugin": so}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var baseExtra = testExtra()

func openTest(t testing.TB, dir string, opt engine.Optim) engine.Policy {
	t.Helper()
	p, err := engine.Open("xla", engine.Options{Dir: dir, Optim: opt, Extra: baseExtra})
	require.NoError(t, err)
	return p
}

// TestConformance runs the shared engine suite (transformers reference
// logits, every gradient, greedy output; sampling, stops, prefixes,
// log-probs, Save/Open) on the pure-Go backend.
func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t testing.TB, opts engine.Options) engine.Policy {
		opts.Extra = baseExtra
		p, err := engine.Open("xla", opts)
		require.NoError(t, err)
		return p
	})
}

// TestConformanceSmallRing runs the suite again with a 2-position decoding
// ring, so that generations flush the ring into the main KV cache many
// times (the default ring of 32 rarely fills in these short generations).
func TestConformanceSmallRing(t *testing.T) {
	enginetest.Run(t, func(t testing.TB, opts engine.Options) engine.Policy {
		opts.Extra = testExtra("decode_ring", "2")
		p, err := engine.Open("xla", opts)
		require.NoError(t, err)
		return p
	})
}
